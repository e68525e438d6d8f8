/**
 * What every libnetwork use case gets: the ports (Neutron, Binder), the host identity,
 * configuration and the tag capability flags probed at start. No Docker state is kept
 * beyond `cache`, whose entries Neutron also holds.
 */
import { randomUUID } from 'node:crypto';
import { normalizeIp } from '../../common/cidr.js';
import type { KeyedMutex } from '../../common/keyed-mutex.js';
import type { Logger } from '../../common/log.js';
import type { Binder } from '../shared/binder.js';
import type { EndpointPools } from './endpoint-pools.js';
import type { LookupCache } from './lookup-cache.js';
import type { NeutronApi } from '../shared/neutron-api.js';
import type { NestedAttachment } from '../nested/attachment.js';

/** The kuryr.conf options the libnetwork use cases read (names follow kuryr.conf; docs/config.md). */
export interface LibnetworkOptions {
  /** `[DEFAULT] capability_scope`. */
  capabilityScope: 'local' | 'global';
  localDefaultAddressSpace: string;
  globalDefaultAddressSpace: string;
  /** `[DEFAULT] subnetpool_name_prefix`, `kuryrPool`. */
  subnetpoolNamePrefix: string;
  /** `[neutron] default_subnetpool_v4`, `kuryr`. */
  defaultSubnetpoolV4: string;
  /** `[neutron] default_subnetpool_v6`, `kuryr6`. */
  defaultSubnetpoolV6: string;
  enableDhcp: boolean;
  processExternalConnectivity: boolean;
  /** `[binding] veth_dst_prefix`, `eth`. */
  vethDstPrefix: string;
  /** Wait for the port to become ACTIVE after plugging. */
  waitForActive: boolean;
  activeTimeoutMs: number;
  /** `[neutron] vif_plugging_is_fatal`: a port that never becomes ACTIVE fails CreateEndpoint. */
  vifPluggingIsFatal: boolean;
}

/** Tag capability flags of the Neutron in use: `tag` = networks/ports by tags, `tagExt` = subnet/port/pool markers. */
export interface TagFlags {
  tag: boolean;
  tagExt: boolean;
}

export interface CoreContext {
  neutron: NeutronApi;
  binder: Binder;
  hostId: string;
  log: Logger;
  options: LibnetworkOptions;
  flags: TagFlags;
  /** Per-key serialization: `net:<DID>`, `ep:<EID>`, `claim:<ip>` (claimLockKey), `allocating:<subnet>:…` (allocatingLockKey), `pool:<cidr>`, `poolid:<id>`, `default-pool:<v>`. */
  locks: KeyedMutex;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  /** Look-up shortcuts (network, pool, endpoint port); safe to lose, self-healing on 404. */
  cache: LookupCache;
  /** Port pools (`[vif_pool] enabled`); absent: every endpoint gets a port made for it. */
  pools?: EndpointPools;
  /** Set when Kuryr runs inside a VM (nested macvlan or VLAN): ports are not bound, the VM port admits them. */
  nested?: NestedAttachment;
  /**
   * Pools this process handed out in RequestPool whose CreateNetwork has not come yet (pool ID → when):
   * a Docker network being created. A pool this host holds that is not in here is a leftover of an
   * earlier process (a crash between RequestPool and CreateNetwork), not a network in the making.
   */
  pendingPools: Map<string, number>;
  /** The name dockerd knows a network ID by (error messages only); absent when dockerd is not reachable. */
  dockerNetworkName?: ((did: string) => Promise<string | undefined>) | undefined;
}

/**
 * The key CreateEndpoint holds for each address it claims, for as long as it runs: until its PUT binds the
 * IPAM port, that port still looks unclaimed, and with Neutron slow (RabbitMQ down: a PUT waits 30 s and is
 * retried) that can outlast the collector's grace period. The collector leaves a port alone while its key is held.
 */
export function claimLockKey(ip: string): string {
  try {
    return `claim:${normalizeIp(ip)}`;
  } catch {
    return `claim:${ip}`; // an invalid address is refused later; its key just matches nothing
  }
}

/** What every RequestAddress making a port on `subnetId` holds a key starting with. */
export function allocatingPrefix(subnetId: string): string {
  return `allocating:${subnetId}:`;
}

/**
 * A key of its own for one RequestAddress making a port (so concurrent ones do not wait on each other): the
 * port is untagged until RequestAddress tags it, and with Neutron slow (RabbitMQ down: the create itself
 * waits) it can look like a leftover of a killed RequestAddress. The collector leaves untagged ports of a
 * subnet alone while one is held.
 */
export function allocatingLockKey(subnetId: string): string {
  return `${allocatingPrefix(subnetId)}${randomUUID()}`;
}
