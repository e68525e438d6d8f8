/**
 * `LibnetworkService` over Neutron and a Binder: the Docker remote NetworkDriver + IpamDriver
 * with the same Neutron state as kuryr-libnetwork (spec §2, §4). Keeps no Docker state: every
 * call resolves networks, ports and pools from Neutron by tags/IDs, so a second host (global
 * scope) or a restarted process sees exactly what the first one made. The look-up cache
 * (`core-cache.ts`) only shortens the hot path and heals itself on a 404.
 */
import { ConfigError, errorMessage } from '../common/errors.js';
import { KeyedMutex } from '../common/keyed-mutex.js';
import type { Logger } from '../common/log.js';
import { releaseAddress, requestAddress } from './address-ops.js';
import type { Binder } from './binder.js';
import { CoreCache } from './core-cache.js';
import type { DockerPools } from './docker-pools.js';
import { createEndpoint, deleteEndpoint } from './endpoint-ops.js';
import { programExternalConnectivity, revokeExternalConnectivity } from './expose-ops.js';
import { endpointOperInfo, join } from './join-ops.js';
import type {
  CreateEndpointRequest,
  CreateEndpointResult,
  CreateNetworkRequest,
  DriverCapabilities,
  EndpointRef,
  ExternalConnectivityRequest,
  JoinRequest,
  JoinResult,
  LibnetworkService,
  ReleaseAddressRequest,
  RequestAddressRequest,
  RequestPoolRequest,
  RequestPoolResult,
} from './libnetwork.js';
import { createNetwork, deleteNetwork } from './network-ops.js';
import type { NeutronApi } from './neutron-api.js';
import type { PoolStats } from './port-pool/pool-model.js';
import { releasePool, requestPool } from './pool-ops.js';
import type { CoreContext, LibnetworkOptions, TagFlags } from './service-context.js';

export type { LibnetworkOptions } from './service-context.js';

export interface NeutronLibnetworkServiceDeps {
  neutron: NeutronApi;
  binder: Binder;
  /** `binding:host_id` of this host (`os.hostname()`, as Python's `socket.gethostname()`). */
  hostId: string;
  logger: Logger;
  options: LibnetworkOptions;
  /** Injected for tests; default `setTimeout`. */
  sleep?: (ms: number) => Promise<void>;
  /** Injected for tests; default `Date.now`. */
  now?: () => number;
  /** Attempts of the mandatory `subnet_allocation` probe (Python: 8, backoff 2^n−1 s). */
  probeAttempts?: number;
  /** Port pools; absent keeps the ordinary path for every endpoint. */
  pools?: DockerPools;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class NeutronLibnetworkService implements LibnetworkService {
  private readonly ctx: CoreContext;
  private readonly probeAttempts: number;

  constructor(deps: NeutronLibnetworkServiceDeps) {
    this.ctx = {
      neutron: deps.neutron,
      binder: deps.binder,
      hostId: deps.hostId,
      log: deps.logger,
      options: deps.options,
      // Modern Neutron has standard-attr-tag; init() replaces these with the probed values.
      flags: { tag: true, tagExt: true },
      locks: new KeyedMutex(),
      sleep: deps.sleep ?? defaultSleep,
      now: deps.now ?? Date.now,
      cache: new CoreCache(),
      ...(deps.pools !== undefined ? { pools: deps.pools } : {}),
    };
    this.probeAttempts = deps.probeAttempts ?? 8;
  }

  /** Probes Neutron extensions like the Python driver at start-up (spec §8.2 steps 3-4). */
  async init(): Promise<TagFlags> {
    const { neutron, log } = this.ctx;
    for (let attempt = 0; ; attempt++) {
      try {
        const ext = await neutron.getExtension('subnet_allocation');
        if (ext === null) throw new ConfigError("Neutron extension with alias 'subnet_allocation' not found; kuryr needs subnet pools");
        break;
      } catch (err) {
        if (err instanceof ConfigError || attempt + 1 >= this.probeAttempts) throw err;
        const delayMs = (2 ** attempt - 1) * 1000;
        log.warn({ attempt: attempt + 1, err: errorMessage(err), delayMs }, 'Neutron extension probe failed; retrying');
        await this.ctx.sleep(delayMs);
      }
    }
    const flags = await this.probeTags();
    this.ctx.flags = flags;
    log.info(flags, 'Neutron tag capabilities');
    const pools = this.ctx.pools;
    if (pools !== undefined) {
      if (!flags.tag) {
        log.warn('Neutron has no tags: port pools are off');
        delete this.ctx.pools;
      } else {
        // In the background: until the pools are back, endpoints take the ordinary path.
        void pools.adopt(this.ctx).catch((err: unknown) => log.error({ err: errorMessage(err) }, 'could not re-adopt the port pools'));
        pools.pools.start();
      }
    }
    return flags;
  }

  private async probeTags(): Promise<TagFlags> {
    const has = async (alias: string): Promise<boolean> => {
      try {
        return (await this.ctx.neutron.getExtension(alias)) !== null;
      } catch (err) {
        this.ctx.log.warn({ alias, err: errorMessage(err) }, 'Neutron extension probe failed; assuming absent');
        return false;
      }
    };
    if (await has('standard-attr-tag')) return { tag: true, tagExt: true };
    const [tag, tagExt] = await Promise.all([has('tag'), has('tag-ext')]);
    return { tag, tagExt };
  }

  /** The tag capability flags in use. */
  get tagFlags(): TagFlags {
    return { ...this.ctx.flags };
  }

  capabilities(): DriverCapabilities {
    const scope = this.ctx.options.capabilityScope;
    return { scope, connectivityScope: scope };
  }

  defaultAddressSpaces(): { local: string; global: string } {
    return { local: this.ctx.options.localDefaultAddressSpace, global: this.ctx.options.globalDefaultAddressSpace };
  }

  ipamCapabilities(): { requiresMacAddress: boolean; requiresRequestReplay: boolean } {
    // With pools the port's own MAC must win, so Docker must not make one up (it sends a MAC only when asked to).
    return { requiresMacAddress: this.ctx.pools === undefined, requiresRequestReplay: false };
  }

  createNetwork(req: CreateNetworkRequest): Promise<void> {
    return createNetwork(this.ctx, req);
  }

  deleteNetwork(networkId: string): Promise<void> {
    return deleteNetwork(this.ctx, networkId);
  }

  createEndpoint(req: CreateEndpointRequest): Promise<CreateEndpointResult> {
    return createEndpoint(this.ctx, req);
  }

  endpointOperInfo(ref: EndpointRef): Promise<Record<string, unknown>> {
    return endpointOperInfo(this.ctx, ref);
  }

  deleteEndpoint(ref: EndpointRef): Promise<void> {
    return deleteEndpoint(this.ctx, ref);
  }

  join(req: JoinRequest): Promise<JoinResult> {
    return join(this.ctx, req);
  }

  /** Nothing to do: the interface stays until DeleteEndpoint (spec §4.11). */
  async leave(_ref: EndpointRef): Promise<void> {}

  programExternalConnectivity(req: ExternalConnectivityRequest): Promise<void> {
    return programExternalConnectivity(this.ctx, req);
  }

  revokeExternalConnectivity(ref: EndpointRef): Promise<void> {
    return revokeExternalConnectivity(this.ctx, ref);
  }

  requestPool(req: RequestPoolRequest): Promise<RequestPoolResult> {
    return requestPool(this.ctx, req);
  }

  releasePool(poolId: string): Promise<void> {
    return releasePool(this.ctx, poolId);
  }

  requestAddress(req: RequestAddressRequest): Promise<string> {
    return requestAddress(this.ctx, req);
  }

  releaseAddress(req: ReleaseAddressRequest): Promise<void> {
    return releaseAddress(this.ctx, req);
  }

  poolStats(): PoolStats[] {
    return this.ctx.pools?.pools.stats() ?? [];
  }

  poolFill(networkId: string, count: number): Promise<number> {
    return this.ctx.pools === undefined ? Promise.resolve(0) : this.ctx.pools.fill(this.ctx, networkId, count);
  }

  async poolDrain(networkId: string): Promise<number> {
    return this.ctx.pools === undefined ? 0 : this.ctx.pools.drain(this.ctx, networkId);
  }
}
