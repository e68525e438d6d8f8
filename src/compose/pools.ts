/**
 * Port pools from `[vif_pool]`: the pool manager of one side (Docker or pods) over Neutron and the
 * parking data plane. `undefined` when pools are off.
 */
import type { Logger } from '../common/log.js';
import type { KuryrConfig } from '../config/load.js';
import type { Binder } from '../core/shared/binder.js';
import type { NeutronApi } from '../core/shared/neutron-api.js';
import type { PoolOwner, PoolSizing } from '../core/port-pool/pool-model.js';
import { parkingNetnsName } from '../core/port-pool/pool-tags.js';
import { PortPools } from '../core/port-pool/port-pools.js';
import type { Exec } from '../southbound/dataplane/exec.js';
import { PoolParking } from '../southbound/dataplane/pool-parking.js';

export function poolSizing(config: KuryrConfig): PoolSizing {
  const p = config.vif_pool;
  return { min: p.ports_pool_min, max: p.ports_pool_max, batch: p.ports_pool_batch, updateFrequencyMs: p.ports_pool_update_frequency * 1000 };
}

export function createPortPools(
  config: KuryrConfig,
  deps: { neutron: NeutronApi; binder: Binder; exec: Exec; owner: PoolOwner; activeTimeoutMs: number; logger: Logger },
): PortPools | undefined {
  if (!config.vif_pool.enabled) return undefined;
  const hostId = config.DEFAULT.host;
  const log = deps.logger.child({ component: 'pools' });
  return new PortPools({
    neutron: deps.neutron,
    dataplane: new PoolParking({ binder: deps.binder, exec: deps.exec, netns: parkingNetnsName(deps.owner, hostId), logger: log }),
    hostId,
    owner: deps.owner,
    sizing: poolSizing(config),
    activeTimeoutMs: deps.activeTimeoutMs,
    log,
  });
}
