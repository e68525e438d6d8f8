/**
 * `LibnetworkService` over Neutron and a Binder: the Docker remote NetworkDriver + IpamDriver
 * with the same Neutron state (names and tags) as the Python kuryr-libnetwork. Keeps no Docker state: every
 * call resolves networks, ports and pools from Neutron by tags/IDs, so a second host (global
 * scope) or a restarted process sees exactly what the first one made. The look-up cache
 * (`lookup-cache.ts`) only shortens the hot path and heals itself on a 404.
 */
import { AuthError, ConfigError, errorMessage } from '../../common/errors.js';
import { KeyedMutex } from '../../common/keyed-mutex.js';
import type { Logger } from '../../common/log.js';
import { Addresses } from './addresses.js';
import type { Binder } from '../shared/binder.js';
import { Endpoints } from './endpoints.js';
import { type EndpointPools, PoolAdmin } from './endpoint-pools.js';
import { ExternalConnectivity } from './expose.js';
import { Sandboxes } from './join.js';
import type { DriverCapabilities, LibnetworkService } from './libnetwork.js';
import { LookupCache } from './lookup-cache.js';
import { Networks } from './networks.js';
import type { NeutronApi } from '../shared/neutron-api.js';
import { Pools } from './pools.js';
import type { NestedAttachment } from '../nested/attachment.js';
import { type DockerView, type GcFinding, type GcOptions, collectGarbage } from './garbage.js';
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
  pools?: EndpointPools;
  /** Nested mode (Kuryr inside a VM): how container ports pass the VM port. */
  nested?: NestedAttachment;
  /** Names Docker networks in errors (a range already taken); optional. */
  dockerNetworkName?: (did: string) => Promise<string | undefined>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class NeutronLibnetworkService implements LibnetworkService {
  readonly networks: Networks;
  readonly endpoints: Endpoints;
  readonly sandboxes: Sandboxes;
  readonly connectivity: ExternalConnectivity;
  readonly pools: Pools;
  readonly addresses: Addresses;
  readonly portPools: PoolAdmin;
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
      cache: new LookupCache(),
      ...(deps.pools !== undefined ? { pools: deps.pools } : {}),
      ...(deps.nested ? { nested: deps.nested } : {}),
      pendingPools: new Map(),
      dockerNetworkName: deps.dockerNetworkName,
    };
    this.probeAttempts = deps.probeAttempts ?? 8;
    this.networks = new Networks(this.ctx);
    this.endpoints = new Endpoints(this.ctx);
    this.sandboxes = new Sandboxes(this.ctx);
    this.connectivity = new ExternalConnectivity(this.ctx);
    this.pools = new Pools(this.ctx);
    this.addresses = new Addresses(this.ctx);
    this.portPools = new PoolAdmin(this.ctx);
  }

  /** Probes Neutron extensions like the Python driver at start-up: `subnet_allocation` is required, the tag extensions decide the tag mode. */
  async init(): Promise<TagFlags> {
    const { neutron, log } = this.ctx;
    for (let attempt = 0; ; attempt++) {
      try {
        const ext = await neutron.getExtension('subnet_allocation');
        if (ext === null) throw new ConfigError("Neutron extension with alias 'subnet_allocation' not found; kuryr needs subnet pools");
        break;
      } catch (err) {
        // Wrong credentials do not heal by waiting: fail at once with the reason.
        if (err instanceof ConfigError || err instanceof AuthError || attempt + 1 >= this.probeAttempts) throw err;
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

  /** The garbage collector (docs/ownership.md, rule 8) with this service's locks and use cases. */
  collectGarbage(docker: DockerView, opts: GcOptions): Promise<GcFinding[]> {
    return collectGarbage(this.ctx, this, docker, opts);
  }
}
