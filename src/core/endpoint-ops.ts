/**
 * NetworkDriver.CreateEndpoint / DeleteEndpoint (spec §4.7, §4.9).
 * Fixes: new ports carry the EID tags (Q2/F4), every step is rolled back on failure (Q17),
 * binding failures are explained (Q28), DeleteEndpoint unplugs even without Neutron (Q18).
 */
import { ConflictError, InvalidInputError, NotFoundError, errorMessage } from '../common/errors.js';
import { UndoStack } from '../common/undo.js';
import { networkOf, normalizeIp, splitAddress } from './cidr.js';
import type { CreateEndpointRequest, CreateEndpointResult, EndpointRef } from './libnetwork.js';
import { deleteIgnoringMissing, dropTag, ensureTag, findPortByEid, requireNetworkByDid } from './lookups.js';
import { DEVICE_OWNER, UNBOUND_PORT_NAME, containerIfName, endpointPortName } from './naming.js';
import type { PortUpdate } from './neutron-api.js';
import type { Network, Port, Subnet } from './neutron-types.js';
import type { CoreContext } from './service-context.js';
import { TAG_PORT_OWNED, hasForeignIdTags, idFromTags, idTags } from './tags.js';
import { assertBound, buildVif, unplugRef, waitForActive } from './vif.js';

export async function createEndpoint(ctx: CoreContext, req: CreateEndpointRequest): Promise<CreateEndpointResult> {
  return ctx.locks.run(`ep:${req.endpointId}`, () =>
    UndoStack.guard(
      (undo) => create(ctx, req, undo),
      (failed) => ctx.log.error({ endpointId: req.endpointId, failed }, 'rollback of CreateEndpoint was incomplete'),
    ),
  );
}

async function create(ctx: CoreContext, req: CreateEndpointRequest, undo: UndoStack): Promise<CreateEndpointResult> {
  const eid = req.endpointId;
  const net = await requireNetworkByDid(ctx, req.networkId);
  const addresses = [req.address, req.addressIpv6].filter((a): a is string => a !== undefined && a !== '');
  if (addresses.length === 0) throw new InvalidInputError(`no IPv4 or IPv6 address given for endpoint ${eid}`, 'Interface');
  const mac = req.macAddress !== undefined && req.macAddress !== '' ? req.macAddress.toLowerCase() : undefined;

  let port = await findPortByEid(ctx, eid);
  if (port !== null && port.networkId !== net.id) {
    throw new ConflictError(`endpoint ${eid} already has port ${port.id} on Neutron network ${port.networkId}, not ${net.id}`);
  }
  let created = false;
  if (port === null) ({ port, created } = await acquirePort(ctx, net, req, addresses, mac, undo));
  port = await bindPort(ctx, port, eid, mac, created, undo);
  assertBound(port, ctx.hostId);

  const subnets = await ctx.neutron.listSubnets({ networkId: net.id });
  const vif = buildVif(port, subnets, net, eid);
  await ctx.binder.plug(vif, null);
  const plugged = port;
  undo.push(`unplug port ${plugged.id}`, () => ctx.binder.unplug(unplugRef(plugged), null));

  if (ctx.options.waitForActive) {
    try {
      await waitForActive(ctx, port.id);
    } catch (err) {
      if (ctx.options.vifPluggingIsFatal) throw err;
      ctx.log.warn({ endpointId: eid, portId: port.id, err: errorMessage(err) }, 'port is not ACTIVE yet; continuing');
    }
  }
  ctx.log.info({ endpointId: eid, portId: port.id }, 'endpoint created');
  return mac === undefined ? { macAddress: port.macAddress } : {};
}

/** Finds the port RequestAddress made (or a user port) by fixed IPs, or creates `<EID>-port`. */
async function acquirePort(
  ctx: CoreContext,
  net: Network,
  req: CreateEndpointRequest,
  addresses: string[],
  mac: string | undefined,
  undo: UndoStack,
): Promise<{ port: Port; created: boolean }> {
  const eid = req.endpointId;
  const pairs: Array<{ subnet: Subnet; ip: string }> = [];
  for (const a of addresses) {
    const cidr = networkOf(a, 'Interface.Address');
    const found = await ctx.neutron.listSubnets({ networkId: net.id, cidr });
    if (found.length > 1) throw new ConflictError(`multiple subnets with CIDR ${cidr} exist on Neutron network ${net.id}`);
    if (found[0] !== undefined) pairs.push({ subnet: found[0], ip: normalizeIp(splitAddress(a).ip) });
  }
  if (pairs.length === 0) {
    throw new NotFoundError(`no subnet of Neutron network ${net.id} (Docker network ${req.networkId}) contains ${addresses.join(' or ')}`);
  }
  const fixedIps = pairs.map((p) => ({ subnetId: p.subnet.id, ipAddress: p.ip }));
  const candidates = (await ctx.neutron.listPorts({ fixedIps })).filter(
    (p) => p.networkId === net.id && p.fixedIps.some((f) => fixedIps.some((w) => w.subnetId === f.subnetId && w.ipAddress === normalizeIp(f.ipAddress))),
  );
  for (const c of candidates) {
    if (hasForeignIdTags(c.tags, eid)) {
      throw new ConflictError(`address ${fixedIps.map((f) => f.ipAddress).join(', ')} is held by port ${c.id} of endpoint ${idFromTags(c.tags)}`);
    }
  }
  if (candidates.length > 2) throw new ConflictError(`${candidates.length} Neutron ports hold the addresses ${addresses.join(', ')}`);
  if (candidates.length === 1) return { port: candidates[0] as Port, created: false };
  if (candidates.length === 2) {
    // Dual stack with kuryr IPAM: one unbound port per family; replace them by one port (spec §4.7 4e).
    for (const c of candidates.filter((p) => p.name.startsWith(UNBOUND_PORT_NAME))) {
      await deleteIgnoringMissing(() => ctx.neutron.deletePort(c.id));
    }
    const user = candidates.find((p) => !p.name.startsWith(UNBOUND_PORT_NAME));
    if (user !== undefined) return { port: user, created: false };
  }
  const port = await ctx.neutron.createPort({
    name: endpointPortName(eid),
    adminStateUp: true,
    networkId: net.id,
    deviceOwner: DEVICE_OWNER,
    deviceId: eid,
    hostId: ctx.hostId,
    fixedIps,
    ...(mac !== undefined ? { macAddress: mac } : {}),
  });
  undo.push(`delete port ${port.id}`, () => deleteIgnoringMissing(() => ctx.neutron.deletePort(port.id)));
  return { port, created: true };
}

/** The port driver's `update_port` (spec §4.7) plus the EID tags; each change pushes its undo. */
async function bindPort(ctx: CoreContext, port: Port, eid: string, mac: string | undefined, created: boolean, undo: UndoStack): Promise<Port> {
  let current = port;
  if (!created) {
    const update: PortUpdate = {};
    const revert: PortUpdate = {};
    if (port.hostId !== ctx.hostId) {
      Object.assign(update, { hostId: ctx.hostId, deviceOwner: DEVICE_OWNER });
      Object.assign(revert, { hostId: port.hostId, deviceOwner: port.deviceOwner });
    }
    if (!port.adminStateUp) {
      update.adminStateUp = true;
      revert.adminStateUp = false;
    }
    if (!ctx.flags.tag && port.name !== endpointPortName(eid)) {
      update.name = endpointPortName(eid);
      revert.name = port.name;
    }
    if (port.deviceId === '') {
      update.deviceId = eid;
      revert.deviceId = '';
    }
    const macChange = mac !== undefined && mac !== port.macAddress.toLowerCase();
    if (macChange) update.macAddress = mac;
    if (Object.keys(update).length > 0) {
      current = await ctx.neutron.updatePort(port.id, update);
      // Neutron refuses a MAC change on a bound port, so the binding is reverted first (undo runs newest first).
      if (macChange) undo.push(`restore MAC of port ${port.id}`, () => ctx.neutron.updatePort(port.id, { macAddress: port.macAddress }));
      if (Object.keys(revert).length > 0) undo.push(`revert binding of port ${port.id}`, () => ctx.neutron.updatePort(port.id, revert));
    }
  }
  if (ctx.flags.tag) {
    const wanted = [...idTags(eid), ...(created && ctx.flags.tagExt ? [TAG_PORT_OWNED] : [])];
    const tags = [...current.tags];
    for (const t of wanted) {
      if (await ensureTag(ctx, 'ports', current.id, tags, t)) {
        tags.push(t);
        if (!created) undo.push(`untag port ${current.id}`, () => dropTag(ctx, 'ports', current.id, undefined, t));
      }
    }
    current = { ...current, tags };
  }
  return current;
}

/** Idempotent; unplugs by the port, or by what the binder lists for the EID when Neutron has no port or fails. */
export async function deleteEndpoint(ctx: CoreContext, ref: EndpointRef): Promise<void> {
  const eid = ref.endpointId;
  await ctx.locks.run(`ep:${eid}`, async () => {
    let port: Port | null = null;
    let lookupError: unknown;
    try {
      port = await findPortByEid(ctx, eid);
    } catch (err) {
      lookupError = err;
    }
    if (port !== null) {
      await ctx.binder.unplug(unplugRef(port), null);
      if (ctx.flags.tag) for (const t of idTags(eid)) await dropTag(ctx, 'ports', port.id, port.tags, t);
      ctx.log.info({ endpointId: eid, portId: port.id }, 'endpoint deleted');
      return;
    }
    for (const p of (await ctx.binder.listPlugged()).filter((v) => v.deviceId === eid)) {
      await ctx.binder.unplug(
        { portId: p.portId, hostIfName: p.hostIfName, containerIfName: containerIfName(p.portId), vifType: p.kind === 'ovs' ? 'ovs' : 'tap', vifDetails: {}, networkId: '' },
        null,
      );
      ctx.log.info({ endpointId: eid, portId: p.portId }, 'unplugged leftover device of endpoint');
    }
    if (lookupError !== undefined) throw lookupError;
  });
}
