/**
 * IpamDriver.RequestAddress / ReleaseAddress. Unlike the Python driver: the gateway is answered before
 * any subnet exists, aux addresses on new networks are tolerated, release looks at every fixed IP of
 * a port (not only the first), and ports kuryr made never get the user-port marker.
 */
import { ConflictError, NotFoundError, isNotFound } from '../../common/errors.js';
import { cidrContains, cidrFamily, firstUsableHost, normalizeCidr, normalizeIp, prefixLength, sameIp, splitAddress } from '../../common/cidr.js';
import type { AddressUseCases, ReleaseAddressRequest, RequestAddressRequest } from './libnetwork.js';
import { dropTag, ensureTag, getPoolOrNull, poolPrefix, requirePool } from './lookups.js';
import { UNBOUND_PORT_NAME, exposedPortsSgName } from './naming.js';
import { unplugRef } from '../shared/vif.js';
import type { Port, Subnet, SubnetPool } from '../shared/neutron-types.js';
import { type CoreContext, allocatingLockKey } from './service-context.js';
import { TAG_PORT_EXISTING, TAG_PORT_OWNED, idFromTags, idTags } from './tags.js';
import { started } from '../../common/promises.js';
import { deleteIgnoringMissing } from '../shared/neutron-deletes.js';
import { isPoolPort } from '../port-pool/pool-tags.js';

/**
 * The Neutron subnet a pool stands for, or `null` before CreateNetwork.
 * `byPool` is the answer of `GET /subnets?subnetpool_id=<pool>` when the caller already has it.
 */
export async function locateSubnet(ctx: CoreContext, pool: SubnetPool, byPool?: Subnet[]): Promise<Subnet | null> {
  byPool ??= await ctx.neutron.listSubnets({ subnetpoolId: pool.id });
  if (byPool.length === 1) return byPool[0] as Subnet;
  const prefix = normalizeCidr(poolPrefix(ctx, pool));
  if (byPool.length > 1) return byPool.find((s) => normalizeCidr(s.cidr) === prefix) ?? null;
  const byCidr = await ctx.neutron.listSubnets({ cidr: prefix });
  if (byCidr.length === 1) return byCidr[0] as Subnet;
  const tagged = byCidr.filter((s) => s.tags.includes(pool.id));
  if (byCidr.length > 1 && tagged.length === 0) ctx.log.warn({ poolId: pool.id, prefix }, 'several subnets have the pool CIDR and none carries the PoolID tag');
  return tagged[tagged.length - 1] ?? null;
}

export class Addresses implements AddressUseCases {
  constructor(private readonly ctx: CoreContext) {}

  /**
   * Neutron calls (warm pool cache): `GET /ports` by MAC on the subnet, `POST /ports`, `PUT` the owned tag.
   * On a cache miss `GET /subnetpools/{id}` and `GET /subnets?subnetpool_id=` run first, concurrently.
   * Gateway requests always read Neutron.
   */
  async requestAddress(req: RequestAddressRequest): Promise<string> {
    const ctx = this.ctx;
    const gatewayRequest = req.gateway;
    const mac = req.macAddress;
    const hit = gatewayRequest ? undefined : ctx.cache.pools.get(req.poolId);
    if (hit !== undefined) {
      const address = req.address !== '' ? normalizeIp(req.address, 'Address') : '';
      try {
        return await allocate(ctx, hit.subnet, address, mac, req.poolId);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        // The subnet or its network is gone (another host, global scope): look the pool up again.
        ctx.cache.forgetPool(req.poolId);
        ctx.log.debug({ poolId: req.poolId }, 'cached subnet of pool is stale; looking it up again');
      }
    }
    const remember = ctx.cache.pools.rememberLater(req.poolId);
    const pool$ = started(requirePool(ctx, req.poolId));
    const byPool$ = started(ctx.neutron.listSubnets({ subnetpoolId: req.poolId }));
    const pool = await pool$();
    const prefix = poolPrefix(ctx, pool);
    const poolLen = prefixLength(prefix);
    const address = req.address !== '' ? normalizeIp(req.address, 'Address') : '';
    const byPool = await byPool$();
    const subnet = await locateSubnet(ctx, pool, byPool);
    if (subnet !== null) remember({ subnet, byPool: byPool.length === 1 && byPool[0]?.id === subnet.id });

    if (gatewayRequest) {
      if (subnet === null) return `${address !== '' ? address : firstUsableHost(prefix)}/${poolLen}`;
      const len = prefixLength(subnet.cidr);
      if (address === '') {
        if (subnet.gatewayIp !== null) return `${subnet.gatewayIp}/${len}`;
        return cidrFamily(subnet.cidr) === 6 ? '::/0' : '0.0.0.0/0';
      }
      if (subnet.gatewayIp !== null && sameIp(subnet.gatewayIp, address)) return `${address}/${len}`;
      throw new ConflictError(
        `requested gateway ${address} does not match gateway ${subnet.gatewayIp ?? '(none)'} of Neutron subnet ${subnet.id} (${subnet.cidr})`,
      );
    }

    if (subnet === null) {
      if (address !== '') {
        ctx.log.warn({ poolId: pool.id, address }, 'no subnet yet for this pool: auxiliary address accepted but not reserved in Neutron');
        return `${address}/${poolLen}`;
      }
      throw new NotFoundError(`no Neutron subnet exists for subnetpool ${pool.id} (${prefix}); create the Docker network first`);
    }
    return ctx.locks.run(allocatingLockKey(subnet.id), () => allocate(ctx, subnet, address, mac, req.poolId));
  }

  /**
   * Idempotent. Deletes kuryr ports holding the address; user ports are unbound and unmarked.
   * Neutron calls (warm pool cache): `GET /ports` by IP, `DELETE /ports/{id}`. Without a cache entry the
   * pool's subnets and the ports by IP are read concurrently; when no port is on the cached subnet the
   * subnets are read to confirm (a stale entry), reusing the ports already in hand.
   */
  async releaseAddress(req: ReleaseAddressRequest): Promise<void> {
    const ctx = this.ctx;
    const ip = normalizeIp(splitAddress(req.address).ip, 'Address');
    await ctx.locks.run(`addr:${req.poolId}:${ip}`, async () => {
      if (ctx.pools?.releaseAddress(ctx, req.poolId, ip) === true) return;
      // The cached subnet is the only one of its pool that can hold the IP (pool subnets do not overlap).
      const hit = ctx.cache.pools.get(req.poolId);
      let byIp: Port[] | undefined;
      if (hit !== undefined && hit.byPool && cidrContains(hit.subnet.cidr, ip)) {
        const id = hit.subnet.id;
        byIp = await ctx.neutron.listPorts({ fixedIps: [{ ipAddress: ip }] });
        const held = byIp.filter((p) => p.fixedIps.some((f) => f.subnetId === id && sameIp(f.ipAddress, ip)));
        if (held.length > 0) return releasePorts(ctx, held, ip);
      }
      // No entry, or no port on the cached subnet (nothing to release, or a stale entry): ask Neutron.
      const subnets$ = started(ctx.neutron.listSubnets({ subnetpoolId: req.poolId }));
      const known = byIp;
      const ports$ = known !== undefined ? async () => known : started(ctx.neutron.listPorts({ fixedIps: [{ ipAddress: ip }] }));
      let subnets = await subnets$();
      if (subnets.length === 0) {
        const pool = await getPoolOrNull(ctx, req.poolId);
        if (pool === null) return;
        subnets = await ctx.neutron.listSubnets({ cidr: normalizeCidr(poolPrefix(ctx, pool)) });
      }
      if (ctx.flags.tagExt) subnets = subnets.filter((s) => s.subnetpoolId === req.poolId || s.tags.includes(req.poolId));
      if (subnets.length === 0) {
        ctx.log.debug({ poolId: req.poolId, ip }, 'subnet already deleted');
        return;
      }
      const ids = new Set(subnets.map((s) => s.id));
      await releasePorts(ctx, (await ports$()).filter((p) => p.fixedIps.some((f) => ids.has(f.subnetId) && sameIp(f.ipAddress, ip))), ip);
    });
  }
}

/** A ready pool port's address when the pool can serve the request, else finds or creates the port holding the address; answers `ip/len`. */
async function allocate(ctx: CoreContext, subnet: Subnet, address: string, mac: string | undefined, poolId: string): Promise<string> {
  const pooled = mac === undefined ? ctx.pools?.reserve(ctx, poolId, subnet, address) : undefined;
  if (pooled !== undefined) return pooled;
  const port = await findOrCreateIpamPort(ctx, subnet, address, mac);
  const ip = address !== '' ? address : port.fixedIps.find((f) => f.subnetId === subnet.id)?.ipAddress;
  if (ip === undefined) throw new NotFoundError(`Neutron port ${port.id} has no address on subnet ${subnet.id}`);
  return `${ip}/${prefixLength(subnet.cidr)}`;
}

async function findOrCreateIpamPort(ctx: CoreContext, subnet: Subnet, address: string, mac: string | undefined): Promise<Port> {
  // By address (when given) and by MAC: both look-ups at once, the address one wins.
  const byMac = mac !== undefined ? started(ctx.neutron.listPorts({ fixedIps: [{ subnetId: subnet.id }], macAddress: mac.toLowerCase() })) : undefined;
  let port: Port | undefined;
  if (address !== '') port = (await ctx.neutron.listPorts({ fixedIps: [{ subnetId: subnet.id, ipAddress: address }] }))[0];
  if (port === undefined && byMac !== undefined) port = (await byMac())[0];
  if (port !== undefined) {
    if (isPoolPort(port)) throw new ConflictError(`address ${address} is held by pool port ${port.id}, which is not ready yet; try again`);
    if (ctx.flags.tagExt && !port.tags.includes(TAG_PORT_OWNED)) {
      await ensureTag(ctx, 'ports', port.id, port.tags, TAG_PORT_EXISTING);
    }
    return port;
  }
  const created = await ctx.neutron.createPort({
    name: UNBOUND_PORT_NAME,
    adminStateUp: true,
    networkId: subnet.networkId,
    fixedIps: [address !== '' ? { subnetId: subnet.id, ipAddress: address } : { subnetId: subnet.id }],
  });
  if (ctx.flags.tagExt) {
    try {
      await ctx.neutron.addTag('ports', created.id, TAG_PORT_OWNED);
    } catch (err) {
      await deleteIgnoringMissing(() => ctx.neutron.deletePort(created.id)).catch(() => undefined);
      throw err;
    }
  }
  return created;
}

/** True for ports kuryr created (and ReleaseAddress deletes). */
export function isKuryrOwnedPort(ctx: CoreContext, port: Port): boolean {
  if (port.tags.includes(TAG_PORT_OWNED)) return true;
  // RequestAddress creates, then tags: killed in between, it leaves an untagged port only it names so
  if (port.name === UNBOUND_PORT_NAME && port.tags.length === 0 && port.deviceOwner === '' && port.hostId === '') return true;
  if (port.tags.includes(TAG_PORT_EXISTING)) return false;
  if (port.deviceId !== '' && port.name === `${port.deviceId}-port`) return true;
  return !ctx.flags.tagExt && port.name === UNBOUND_PORT_NAME;
}

/** Deletes the kuryr ports and releases the marked user ports among those holding the IP. */
async function releasePorts(ctx: CoreContext, ports: Port[], ip: string): Promise<void> {
  for (const port of ports) {
    // A free pool port belongs to the pool, not to the address Docker releases (a stale release after a restart).
    if (isPoolPort(port)) continue;
    if (claimedOnOtherHost(ctx, port)) {
      // A late or misrouted release must not take an address an endpoint elsewhere still uses (docs/ownership.md).
      ctx.log.warn({ portId: port.id, ip, hostId: port.hostId }, 'port still claimed by an endpoint on another host; kept');
    } else if (isKuryrOwnedPort(ctx, port)) {
      const abandoned = await unplugIfStillPlugged(ctx, port, ip);
      await deleteIgnoringMissing(() => ctx.neutron.deletePort(port.id));
      ctx.log.info({ portId: port.id, ip }, 'deleted kuryr port');
      // RevokeExternalConnectivity did not come either: its security group would serve nobody
      if (abandoned) await deleteExposedGroups(ctx, port.id);
    } else if (port.tags.includes(TAG_PORT_EXISTING)) {
      await unplugIfStillPlugged(ctx, port, ip);
      await releaseUserPort(ctx, port);
    }
  }
}

/**
 * DeleteEndpoint never completed for this port (a crash, or dockerd's empty-body retry): its veth and
 * OVS port would outlive the Neutron port, so they go first.
 */
async function unplugIfStillPlugged(ctx: CoreContext, port: Port, ip: string): Promise<boolean> {
  if (port.hostId !== ctx.hostId || idFromTags(port.tags) === undefined) return false;
  await ctx.binder.unplug(unplugRef(port), null);
  ctx.log.info({ portId: port.id, ip }, 'unplugged an endpoint that was never deleted before releasing its address');
  return true;
}

/** Deletes the `<port id>-exposed_ports` group of a port that is gone (idempotent). */
export async function deleteExposedGroups(ctx: CoreContext, portId: string): Promise<void> {
  for (const sg of await ctx.neutron.listSecurityGroups({ name: exposedPortsSgName(portId) })) {
    await deleteIgnoringMissing(() => ctx.neutron.deleteSecurityGroup(sg.id));
    ctx.log.info({ portId, securityGroupId: sg.id }, 'deleted the exposed-ports group of a removed port');
  }
}

/** Bound to another host and still carrying an endpoint's ID tags. */
function claimedOnOtherHost(ctx: CoreContext, port: Port): boolean {
  return port.hostId !== '' && port.hostId !== ctx.hostId && idFromTags(port.tags) !== undefined;
}

/** As the Python driver: clear `device_owner` and the host (and `device_id` when the name starts with it), drop markers. */
async function releaseUserPort(ctx: CoreContext, port: Port): Promise<void> {
  const update: { deviceOwner: string; hostId: string; deviceId?: string } = { deviceOwner: '', hostId: '' };
  if (port.deviceId !== '' && port.name.startsWith(port.deviceId)) update.deviceId = '';
  await ctx.neutron.updatePort(port.id, update);
  await dropTag(ctx, 'ports', port.id, port.tags, TAG_PORT_EXISTING);
  const eid = idFromTags(port.tags);
  if (eid !== undefined) for (const t of idTags(eid)) await dropTag(ctx, 'ports', port.id, port.tags, t);
  ctx.log.info({ portId: port.id }, 'released user port');
}
