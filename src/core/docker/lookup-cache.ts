/**
 * Small per-process caches of Neutron facts that cannot change while the Docker object exists
 * (the driver keeps no Docker state: these are only shortcuts, safe to lose on restart). Every entry
 * is also held by Neutron; a stale one (another host deleted the network in global scope) is
 * dropped on the first 404 and the look-up is redone from Neutron.
 */
import type { Network, Subnet } from '../shared/neutron-types.js';

/** A Docker network's Neutron network and its subnets at the time of the look-up. */
export interface NetworkEntry {
  network: Network;
  subnets: Subnet[];
}

/** The subnet a Docker PoolID (subnetpool ID) stands for. */
export interface PoolEntry {
  subnet: Subnet;
  /** True when it is the only subnet allocated from the pool (found by `subnetpool_id`, not by CIDR). */
  byPool: boolean;
}

/**
 * A Map with a size cap (oldest entry evicted first). Every removal bumps a private epoch, so a
 * look-up that started before an invalidation cannot put its stale answer back (`rememberLater`).
 */
export class BoundedCache<K, V> {
  private readonly map = new Map<K, V>();
  private version = 0;

  constructor(private readonly max: number) {}

  /**
   * Call before a Neutron read; the function it returns stores the answer under `key`, unless an
   * entry was dropped in between (a concurrent invalidation wins over an answer read before it).
   */
  rememberLater(key: K): (value: V) => void {
    const epoch = this.version;
    return (value) => {
      if (epoch === this.version) this.set(key, value);
    };
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.max) {
      const oldest = this.map.keys().next();
      if (oldest.done === true) break;
      this.map.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.version++;
    this.map.delete(key);
  }

  /** Drops every entry the predicate selects. */
  deleteWhere(pred: (value: V, key: K) => boolean): void {
    this.version++;
    for (const [k, v] of [...this.map]) if (pred(v, k)) this.map.delete(k);
  }

  clear(): void {
    this.version++;
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }
}

export class LookupCache {
  /** Docker network ID → Neutron network and subnets. Dropped by DeleteNetwork and on a 404. */
  readonly networks = new BoundedCache<string, NetworkEntry>(1024);
  /** Docker PoolID → its Neutron subnet. Dropped by ReleasePool / DeleteNetwork and on a 404 or a miss. */
  readonly pools = new BoundedCache<string, PoolEntry>(1024);
  /** Docker endpoint ID → Neutron port ID. Dropped by DeleteEndpoint. */
  readonly endpointPorts = new BoundedCache<string, string>(4096);

  /** Forgets a Docker network and every pool entry whose subnet lives on its Neutron network. */
  forgetNetwork(did: string, neutronNetworkId?: string): void {
    const netId = neutronNetworkId ?? this.networks.get(did)?.network.id;
    this.networks.delete(did);
    if (netId !== undefined) this.pools.deleteWhere((p) => p.subnet.networkId === netId);
  }

  /** Forgets a pool and every network entry holding one of its subnets. */
  forgetPool(poolId: string): void {
    const subnetId = this.pools.get(poolId)?.subnet.id;
    this.pools.delete(poolId);
    this.networks.deleteWhere((e) => e.subnets.some((s) => s.subnetpoolId === poolId || s.id === subnetId || s.tags.includes(poolId)));
  }
}
