/**
 * Pools of pre-made ports: created in bulk, bound to this host, plugged like any port with the
 * container end parked down in a namespace of ours, and ACTIVE before they are offered. What a pool
 * holds is also in Neutron (the pool tag) and on the host (the parked links), so a restart re-adopts
 * it; nothing else is stored. The Docker and pod use cases take ports from here, never the reverse.
 */
import type { Vif, VifTarget } from '../shared/binder.js';
import type { Port, Subnet } from '../shared/neutron-types.js';

/** `[vif_pool]` sizing, with kuryr-kubernetes' option names. */
export interface PoolSizing {
  /** `ports_pool_min`: refill when fewer ports are ready or on their way. */
  min: number;
  /** `ports_pool_max`: a returned port is deleted when this many are ready; 0 = no limit. */
  max: number;
  /** `ports_pool_batch`: ports per bulk POST. */
  batch: number;
  /** `ports_pool_update_frequency`, ms: how often pools below `min` are refilled. */
  updateFrequencyMs: number;
}

/** The Docker driver and the CNI daemon keep separate pools (own tag, own parking namespace). */
export type PoolOwner = 'docker' | 'cni';

/** How the ports of one pool are made; the ports of a pool are interchangeable. */
export interface PoolSpec {
  key: string;
  networkId: string;
  /** Each port takes one address on each of these subnets. */
  subnets: Subnet[];
  mtu: number;
  /** Absent: Neutron applies the project's default group. */
  securityGroups?: string[];
  projectId?: string;
}

/** A port of a pool with the `Vif` it is plugged with. */
export interface PooledPort {
  key: string;
  port: Port;
  vif: Vif;
}

/** What a pool looks like now, for `kuryr pool show` and the logs. */
export interface PoolStats {
  key: string;
  networkId: string;
  ready: number;
  preparing: number;
  inUse: number;
  closed: boolean;
}

/** The data plane of parked ports (implemented in `southbound/dataplane/pool-parking.ts`). */
export interface ParkingDataplane {
  /** Plugs each port like any port (host end in OVS or the bridge), the container end parked down without addresses. Returns the failures. */
  park(vifs: Vif[]): Promise<Array<{ portId: string; error: unknown }>>;
  /** Names of the links in the parking namespace (`t_c` + port id[:11]). */
  parkedLinks(): Promise<Set<string>>;
  /** Host ends (`tap` + port id[:11]) in the host namespace → the port and the user they are labelled with ('' when unknown / none). */
  hostEnds(): Promise<Map<string, { portId: string; user: string }>>;
  /** Labels the host end with the user of the port (Docker endpoint), so a restart before Neutron has it can tell. */
  label(vif: Vif, user: string): Promise<void>;
  /** Moves the parked end to the host namespace under its `t_c` name, down, no addresses (Docker moves it on). */
  toHost(vif: Vif): Promise<void>;
  /** Moves the parked end into `target` as `target.ifName` with the vif's MTU, addresses and routes, up. */
  into(vif: Vif, target: VifTarget): Promise<void>;
  /** Moves the container end back to the parking namespace (from the host namespace, or from `from`); false when the link is gone. */
  back(vif: Vif, from: VifTarget | null): Promise<boolean>;
  /** Removes the plug (OVS port, veth pair); missing devices are success. */
  unplug(vif: Vif): Promise<void>;
  /** Removes parked links that belong to no pool port, with their host ends and OVS ports. */
  removeParked(names: string[]): Promise<void>;
}

/** Port state in Neutron of a port a pool does not hold (for adoption). */
export type { Port };
