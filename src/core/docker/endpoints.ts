/**
 * NetworkDriver.CreateEndpoint / DeleteEndpoint. Unlike the Python driver: ports made here carry the
 * endpoint's ID tags (Python left them untagged, so a look-up by tags missed them), every step is
 * rolled back on failure, a port ML2 could not bind is explained, and DeleteEndpoint unplugs the
 * devices even when Neutron cannot be reached.
 */
import { ConflictError, InvalidInputError, NotFoundError, errorMessage } from '../../common/errors.js';
import { UndoStack } from '../../common/undo.js';
import { waitForPortActive } from '../shared/active-wait.js';
import { networkOf, normalizeCidr, normalizeIp, splitAddress } from '../../common/cidr.js';
import { type NetworkEntry } from './lookup-cache.js';
import type { CreateEndpointRequest, CreateEndpointResult, EndpointRef, EndpointUseCases } from './libnetwork.js';
import { dropTag, findPortByEid, resolveNetwork, withNetworkEntry, writeTags } from './lookups.js';
import { DEVICE_OWNER, containerIfName } from '../shared/device-names.js';
import { UNBOUND_PORT_NAME, endpointPortName } from './naming.js';
import type { PortUpdate } from '../shared/neutron-api.js';
import type { Port, Subnet } from '../shared/neutron-types.js';
import { type CoreContext, claimLockKey } from './service-context.js';
import { TAG_PORT_OWNED, hasForeignIdTags, idFromTags, idTags } from './tags.js';
import { assertBound, buildVif, unplugRef } from '../shared/vif.js';
import { settle, started } from '../../common/promises.js';
import { deleteIgnoringMissing } from '../shared/neutron-deletes.js';

/** The reserved pool port of the request's address, claimed (answers its MAC), or `undefined`: the ordinary path. */
async function claimPoolPort(ctx: CoreContext, req: CreateEndpointRequest): Promise<CreateEndpointResult | undefined> {
  if (ctx.pools === undefined || req.address === undefined || req.address === '') return undefined;
  const { entry } = await resolveNetwork(ctx, req.networkId);
  const pooled = await ctx.pools.claim(ctx, req, entry.network.id);
  if (pooled === undefined) return undefined;
  // Docker sent the port's own MAC (the user asked for it): nothing to answer.
  return req.macAddress !== undefined && req.macAddress !== '' ? {} : pooled;
}

export class Endpoints implements EndpointUseCases {
  constructor(private readonly ctx: CoreContext) {}

  /**
   * Neutron calls (seed flow, warm cache): 3 concurrent `GET /ports` (EID tags, `<EID>-port`, fixed IP),
   * `PUT /ports/{id}` (binding), `PUT /ports/{id}/tags` in parallel with the plug, `GET /ports/{id}` until ACTIVE.
   */
  async createEndpoint(req: CreateEndpointRequest): Promise<CreateEndpointResult> {
    const ctx = this.ctx;
    const claims = [req.address, req.addressIpv6].filter((a): a is string => !!a).map((a) => claimLockKey(splitAddress(a).ip));
    return ctx.locks.runAll([`ep:${req.endpointId}`, ...claims], async () => {
      const pooled = await claimPoolPort(ctx, req);
      if (pooled !== undefined) return pooled;
      // The port look-up by EID does not depend on the network: it runs alongside the network look-up.
      const byEid = started(findPortByEid(ctx, req.endpointId, { concurrent: true }));
      return withNetworkEntry(ctx, req.networkId, (entry) =>
        UndoStack.guard(
          (undo) => create(ctx, req, entry, byEid, undo),
          (failed) => ctx.log.error({ endpointId: req.endpointId, failed }, 'rollback of CreateEndpoint was incomplete'),
        ),
      );
    });
  }

  /**
   * Idempotent; unplugs by the port, or by what the binder lists for the EID when Neutron has no port or fails.
   * Neutron calls: `GET /ports` by EID tags, then one `PUT /ports/{id}/tags` (in parallel with the unplug).
   */
  async deleteEndpoint(ref: EndpointRef): Promise<void> {
    const ctx = this.ctx;
    const eid = ref.endpointId;
    await ctx.locks.run(`ep:${eid}`, async () => {
      if ((await ctx.pools?.release(ctx, eid)) === true) return;
      let port: Port | null = null;
      let lookupError: unknown;
      try {
        port = await findPortByEid(ctx, eid);
      } catch (err) {
        lookupError = err;
      }
      ctx.cache.endpointPorts.delete(eid);
      if (port !== null) {
        const found = port;
        const ids = ctx.flags.tag ? idTags(eid) : [];
        const kept = found.tags.filter((t) => !ids.includes(t));
        const untag = kept.length !== found.tags.length ? () => writeTags(ctx, 'ports', found.id, kept) : async () => false;
        const [unplugged, untagged] = await Promise.allSettled([unplugAndDetach(ctx, found), untag()]);
        if (unplugged.status === 'rejected') {
          // Keep the EID tags so a retried DeleteEndpoint finds the port again, as when the unplug ran first.
          if (untagged.status === 'fulfilled' && untagged.value) await writeTags(ctx, 'ports', found.id, found.tags).catch(() => undefined);
          throw unplugged.reason;
        }
        if (untagged.status === 'rejected') throw untagged.reason;
        ctx.log.info({ endpointId: eid, portId: found.id }, 'endpoint deleted');
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
}

/** Removes the device and, nested, takes the port back from the VM port; both run, the first failure is reported. */
async function unplugAndDetach(ctx: CoreContext, port: Port): Promise<void> {
  await settle(ctx.binder.unplug(unplugRef(port), null), ctx.nested ? ctx.nested.detach(port) : Promise.resolve());
}

/**
 * CreateEndpoint on a known network: find or make the port, bind it here, tag and plug it, wait for
 * ACTIVE. Each change pushes its undo. `byEid` is the port look-up by EID, already under way.
 */
async function create(
  ctx: CoreContext,
  req: CreateEndpointRequest,
  entry: NetworkEntry,
  byEid: () => Promise<Port | null>,
  undo: UndoStack,
): Promise<CreateEndpointResult> {
  const eid = req.endpointId;
  const net = entry.network;
  const addresses = [req.address, req.addressIpv6].filter((a): a is string => a !== undefined && a !== '');
  if (addresses.length === 0) throw new InvalidInputError(`no IPv4 or IPv6 address given for endpoint ${eid}`, 'Interface');
  // Speculatively, alongside the EID look-up: the ports holding the addresses Docker sent.
  const byAddress = started(addressPorts(ctx, entry, req, addresses));
  const mac = req.macAddress !== undefined && req.macAddress !== '' ? req.macAddress.toLowerCase() : undefined;

  let port = await byEid();
  if (port !== null && port.networkId !== net.id) {
    throw new ConflictError(`endpoint ${eid} already has port ${port.id} on Neutron network ${port.networkId}, not ${net.id}`);
  }
  let created = false;
  if (port === null) ({ port, created } = await acquirePort(ctx, entry, req, mac, undo, await byAddress()));
  port = await bindPort(ctx, port, eid, mac, created, undo);
  if (!ctx.nested) assertBound(port, ctx.hostId);

  const vif = buildVif(port, await portSubnets(ctx, req.networkId, entry, port), net, eid);
  const bound = port;
  if (ctx.nested) {
    // The device sends from Docker's MAC (a tenant may not change the port's); the VM port must admit it.
    const nested = ctx.nested;
    vif.macAddress = mac ?? vif.macAddress;
    const { vlanId } = await nested.attach(bound, vif.macAddress);
    undo.push(`detach port ${bound.id} from VM port ${nested.vmPort.id}`, () => nested.detach(bound));
    if (vlanId !== undefined) vif.vlanId = vlanId;
  }
  // The tag write and the plug are independent: run them together, undo whichever succeeded.
  const [tagged, plugged] = await Promise.allSettled([tagPort(ctx, bound, eid, created, undo), ctx.binder.plug(vif, null)]);
  if (plugged.status === 'fulfilled') undo.push(`unplug port ${bound.id}`, () => ctx.binder.unplug(unplugRef(bound), null));
  if (tagged.status === 'rejected') throw tagged.reason;
  if (plugged.status === 'rejected') throw plugged.reason;

  // A nested port is never bound, so it never turns ACTIVE: nothing to wait for.
  if (ctx.options.waitForActive && !ctx.nested) {
    try {
      await waitForPortActive(ctx, bound.id, { timeoutMs: ctx.options.activeTimeoutMs, hostId: ctx.hostId });
    } catch (err) {
      if (ctx.options.vifPluggingIsFatal) throw err;
      ctx.log.warn({ endpointId: eid, portId: bound.id, err: errorMessage(err) }, 'port is not ACTIVE yet; continuing');
    }
  }
  ctx.cache.endpointPorts.set(eid, bound.id);
  ctx.log.info({ endpointId: eid, portId: bound.id }, 'endpoint created');
  return mac === undefined ? { macAddress: bound.macAddress } : {};
}

/** The subnets of the addresses Docker sent and the ports on the network that hold them. */
interface AddressPorts {
  fixedIps: Array<{ subnetId: string; ipAddress: string }>;
  candidates: Port[];
}

/** Matches the addresses to the network's subnets (by CIDR) and lists the ports holding them. */
async function addressPorts(ctx: CoreContext, entry: NetworkEntry, req: CreateEndpointRequest, addresses: string[]): Promise<AddressPorts> {
  const net = entry.network;
  const pairs: Array<{ subnet: Subnet; ip: string }> = [];
  for (const a of addresses) {
    const cidr = networkOf(a, 'Interface.Address');
    const found = entry.subnets.filter((s) => normalizeCidr(s.cidr) === cidr);
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
  return { fixedIps, candidates };
}

/** Uses the port RequestAddress made (or a user port) found by fixed IPs, or creates `<EID>-port`. */
async function acquirePort(
  ctx: CoreContext,
  entry: NetworkEntry,
  req: CreateEndpointRequest,
  mac: string | undefined,
  undo: UndoStack,
  { fixedIps, candidates }: AddressPorts,
): Promise<{ port: Port; created: boolean }> {
  const eid = req.endpointId;
  const net = entry.network;
  for (const c of candidates) {
    if (hasForeignIdTags(c.tags, eid)) {
      throw new ConflictError(`address ${fixedIps.map((f) => f.ipAddress).join(', ')} is held by port ${c.id} of endpoint ${idFromTags(c.tags)}`);
    }
  }
  if (candidates.length > 2) {
    const addresses = [req.address, req.addressIpv6].filter((a) => a !== undefined && a !== '');
    throw new ConflictError(`${candidates.length} Neutron ports hold the addresses ${addresses.join(', ')}`);
  }
  if (candidates.length === 1) return { port: candidates[0] as Port, created: false };
  if (candidates.length === 2) {
    // Dual stack with kuryr IPAM: one unbound port per family; replace them by one port, as the Python driver does.
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
    // A trunk subport's device is set by Neutron when it joins the trunk.
    ...(ctx.nested?.subport ? {} : { deviceOwner: DEVICE_OWNER, deviceId: eid }),
    ...(ctx.nested ? {} : { hostId: ctx.hostId }),
    fixedIps,
    ...(mac !== undefined ? { macAddress: mac } : {}),
  });
  undo.push(`delete port ${port.id}`, () => deleteIgnoringMissing(() => ctx.neutron.deletePort(port.id)));
  return { port, created: true };
}

/** What the Python port driver's `update_port` changes; each change pushes its undo. The EID tags follow in `tagPort`. */
async function bindPort(ctx: CoreContext, port: Port, eid: string, mac: string | undefined, created: boolean, undo: UndoStack): Promise<Port> {
  if (created) return port;
  const update: PortUpdate = {};
  const revert: PortUpdate = {};
  if (ctx.nested) {
    // Nested: no host binding (the VM is no Neutron host; binding:host_id is admin-only anyway).
    if (!ctx.nested.subport && port.deviceOwner !== DEVICE_OWNER) {
      update.deviceOwner = DEVICE_OWNER;
      revert.deviceOwner = port.deviceOwner;
    }
  } else if (port.hostId !== ctx.hostId) {
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
  if (port.deviceId === '' && !ctx.nested?.subport) {
    update.deviceId = eid;
    revert.deviceId = '';
  }
  // Nested devices carry Docker's MAC themselves and the VM port admits it: the port keeps its own.
  const macChange = !ctx.nested && mac !== undefined && mac !== port.macAddress.toLowerCase();
  if (macChange) update.macAddress = mac;
  if (Object.keys(update).length === 0) return port;
  const current = await ctx.neutron.updatePort(port.id, update);
  // Neutron refuses a MAC change on a bound port, so the binding is reverted first (undo runs newest first).
  if (macChange) undo.push(`restore MAC of port ${port.id}`, () => ctx.neutron.updatePort(port.id, { macAddress: port.macAddress }));
  if (Object.keys(revert).length > 0) undo.push(`revert binding of port ${port.id}`, () => ctx.neutron.updatePort(port.id, revert));
  // The tags were read with the port and the update does not change them.
  return { ...current, tags: port.tags };
}

/** Adds the EID tags (and the owned marker on a port made here) in one `PUT /ports/{id}/tags`. */
async function tagPort(ctx: CoreContext, port: Port, eid: string, created: boolean, undo: UndoStack): Promise<void> {
  if (!ctx.flags.tag) return;
  const wanted = [...idTags(eid), ...(created && ctx.flags.tagExt ? [TAG_PORT_OWNED] : [])];
  const added = wanted.filter((t) => !port.tags.includes(t));
  if (added.length === 0) return;
  if (!(await writeTags(ctx, 'ports', port.id, [...port.tags, ...added]))) return;
  if (!created) {
    for (const t of added) undo.push(`untag port ${port.id}`, () => dropTag(ctx, 'ports', port.id, undefined, t));
  }
}

/** The subnets of the port's fixed IPs: the cached ones, re-read once when the port uses a subnet not yet known. */
async function portSubnets(ctx: CoreContext, did: string, entry: NetworkEntry, port: Port): Promise<Subnet[]> {
  const known = new Set(entry.subnets.map((s) => s.id));
  if (port.fixedIps.every((f) => known.has(f.subnetId))) return entry.subnets;
  const remember = ctx.cache.networks.rememberLater(did);
  const subnets = await ctx.neutron.listSubnets({ networkId: port.networkId });
  if (port.networkId === entry.network.id) remember({ network: entry.network, subnets });
  return subnets;
}
