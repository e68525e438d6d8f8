/**
 * Shared set-up for the core libnetwork tests: a FakeNeutron, a FakeBinder and the service.
 */
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../../src/common/log.js';
import { type LibnetworkOptions, NeutronLibnetworkService } from '../../src/core/docker/driver.js';
import type { PoolData } from '../../src/core/docker/libnetwork.js';
import type { NestedAttachment } from '../../src/core/nested/attachment.js';
import { FakeBinder } from '../fakes/fake-binder.js';
import { FakeNeutron, type FakeNeutronOptions } from '../fakes/fake-neutron.js';
import { neutronChoicesToDomain } from '../../src/northbound/docker/translate.js';

export const HOST = 'vm';

export const DEFAULT_OPTIONS: LibnetworkOptions = {
  capabilityScope: 'local',
  localDefaultAddressSpace: 'no_address_space',
  globalDefaultAddressSpace: 'no_address_space',
  subnetpoolNamePrefix: 'kuryrPool',
  defaultSubnetpoolV4: 'kuryr',
  defaultSubnetpoolV6: 'kuryr6',
  enableDhcp: true,
  processExternalConnectivity: true,
  vethDstPrefix: 'eth',
  waitForActive: true,
  activeTimeoutMs: 2000,
  vifPluggingIsFatal: false,
};

export interface Harness {
  neutron: FakeNeutron;
  binder: FakeBinder;
  service: NeutronLibnetworkService;
}

export async function makeHarness(
  opts: {
    neutron?: FakeNeutronOptions | FakeNeutron;
    binder?: FakeBinder;
    options?: Partial<LibnetworkOptions>;
    hostId?: string;
    nested?: NestedAttachment;
    dockerNetworkName?: (did: string) => Promise<string | undefined>;
  } = {},
): Promise<Harness> {
  const neutron = opts.neutron instanceof FakeNeutron ? opts.neutron : new FakeNeutron(opts.neutron);
  const binder = opts.binder ?? new FakeBinder();
  const service = new NeutronLibnetworkService({
    neutron,
    binder,
    hostId: opts.hostId ?? HOST,
    logger: silentLogger(),
    options: { ...DEFAULT_OPTIONS, ...opts.options },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 5))),
    ...(opts.nested ? { nested: opts.nested } : {}),
    ...(opts.dockerNetworkName !== undefined ? { dockerNetworkName: opts.dockerNetworkName } : {}),
  });
  await service.init();
  return { neutron, binder, service };
}

/** A Docker-style 64-hex ID. */
export const hexId = (): string => randomBytes(32).toString('hex');

export const randomMac = (): string => ['02', ...[...randomBytes(5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');

/** RequestAddress of the network's gateway (what dockerd sends as `RequestAddressType`). */
export const GATEWAY = { gateway: true } as const;
/** RequestAddress with the endpoint's MAC (dockerd's `com.docker.network.endpoint.macaddress`). */
export const macOption = (mac: string): { gateway: false; macAddress: string } => ({ gateway: false, macAddress: mac });
/** The typed Neutron choices of a Docker `-o` / `--ipam-opt` map, translated as the northbound does. */
export const choices = neutronChoicesToDomain;

export function poolData(pool: string, gateway?: string): PoolData {
  return gateway === undefined ? { addressSpace: 'no_address_space', pool, auxAddresses: {} } : { addressSpace: 'no_address_space', pool, gateway, auxAddresses: {} };
}

/** IP part of `ip/len`. */
export const ipOf = (cidr: string): string => cidr.split('/')[0] as string;

/** Full Docker network lifecycle helper: RequestPool → gateway → CreateNetwork. */
export async function dockerNetworkCreate(
  h: Harness,
  args: { did: string; subnet?: string; ipRange?: string; gateway?: string; ipamOpts?: Record<string, string>; opts?: Record<string, string>; v6?: { subnet: string; gateway?: string } },
): Promise<{ poolId: string; pool: string; gateway: string; poolId6?: string; pool6?: string; gateway6?: string }> {
  const rp = await h.service.pools.requestPool({ addressSpace: 'no_address_space', pool: args.subnet ?? '', subPool: args.ipRange ?? '', neutron: choices(args.ipamOpts ?? {}), v6: false });
  const gw = await h.service.addresses.requestAddress({ poolId: rp.poolId, address: args.gateway ?? '', ...GATEWAY });
  let v6: { poolId6: string; pool6: string; gateway6: string } | undefined;
  if (args.v6 !== undefined) {
    const rp6 = await h.service.pools.requestPool({ addressSpace: 'no_address_space', pool: args.v6.subnet, subPool: '', neutron: choices(args.ipamOpts ?? {}), v6: true });
    const gw6 = await h.service.addresses.requestAddress({ poolId: rp6.poolId, address: args.v6.gateway ?? '', ...GATEWAY });
    v6 = { poolId6: rp6.poolId, pool6: rp6.pool, gateway6: gw6 };
  }
  await h.service.networks.createNetwork({
    networkId: args.did,
    ipv4Data: [poolData(rp.pool, gw)],
    ipv6Data: v6 !== undefined ? [poolData(v6.pool6, v6.gateway6)] : [],
    neutron: choices(args.opts ?? {}),
    enableIpv6: v6 !== undefined,
  });
  return { poolId: rp.poolId, pool: rp.pool, gateway: gw, ...v6 };
}
