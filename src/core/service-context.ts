/**
 * What every libnetwork use case gets: the ports (Neutron, Binder), the host identity,
 * configuration and the capability flags probed at start (spec §8.2). No Docker state is kept
 * beyond `cache`, whose entries Neutron also holds.
 */
import type { KeyedMutex } from '../common/keyed-mutex.js';
import type { Logger } from '../common/log.js';
import type { Binder } from './binder.js';
import type { CoreCache } from './core-cache.js';
import type { DockerPools } from './docker-pools.js';
import type { NeutronApi } from './neutron-api.js';

/** The kuryr.conf options the libnetwork use cases read (names follow spec §8.1). */
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

/** Capability flags (spec §2.3): `tag` = networks/ports by tags, `tagExt` = subnet/port/pool markers. */
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
  /** Per-key serialization: `net:<DID>`, `ep:<EID>`, `pool:<cidr>`, `poolid:<id>`, `default-pool:<v>`. */
  locks: KeyedMutex;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  /** Look-up shortcuts (network, pool, endpoint port); safe to lose, self-healing on 404. */
  cache: CoreCache;
  /** Port pools (`[vif_pool] enabled`); absent: every endpoint gets a port made for it. */
  pools?: DockerPools;
}

/** Docker option keys (spec §5). */
export const OPT = {
  netUuid: 'neutron.net.uuid',
  netName: 'neutron.net.name',
  netShared: 'neutron.net.shared',
  subnetUuid: 'neutron.subnet.uuid',
  subnetName: 'neutron.subnet.name',
  subnetV6Uuid: 'neutron.subnet.v6.uuid',
  subnetV6Name: 'neutron.subnet.v6.name',
  poolUuid: 'neutron.pool.uuid',
  poolName: 'neutron.pool.name',
  poolV6Uuid: 'neutron.pool.v6.uuid',
  poolV6Name: 'neutron.pool.v6.name',
  requestAddressType: 'RequestAddressType',
  gatewayType: 'com.docker.network.gateway',
  macAddress: 'com.docker.network.endpoint.macaddress',
  exposedPorts: 'com.docker.network.endpoint.exposedports',
} as const;

/** oslo `bool_from_string`, non-strict: `1/t/true/on/y/yes` (any case) → true. */
export function boolFromString(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return false;
  return ['1', 't', 'true', 'on', 'y', 'yes'].includes(value.trim().toLowerCase());
}

/** A non-empty string option, else `undefined`. */
export function opt(options: Record<string, unknown> | undefined, key: string): string | undefined {
  const v = options?.[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The subnet/pool option keys for one address family. */
export function familyKeys(v6: boolean): { subnetUuid: string; subnetName: string; poolUuid: string; poolName: string } {
  return v6
    ? { subnetUuid: OPT.subnetV6Uuid, subnetName: OPT.subnetV6Name, poolUuid: OPT.poolV6Uuid, poolName: OPT.poolV6Name }
    : { subnetUuid: OPT.subnetUuid, subnetName: OPT.subnetName, poolUuid: OPT.poolUuid, poolName: OPT.poolName };
}
