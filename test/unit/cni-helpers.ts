/**
 * Builds a PodNetworkService over FakeNeutron + FakeBinder with an in-memory netns inspector and probe.
 */
import { FakeBinder } from '../fakes/fake-binder.js';
import { FakeNeutron, type FakeNeutronOptions } from '../fakes/fake-neutron.js';
import type { ControlPlaneProbe, HostVeth, NetnsInspector, NetnsLinkState, PodAddRequest } from '../../src/core/pod/pod-model.js';
import { PodNetworkService } from '../../src/core/pod/pod-network.js';
import type { NestedAttachment } from '../../src/core/nested/attachment.js';
import type { NamespaceSubnetOptions } from '../../src/core/pod/namespace-networks.js';
import type { Network } from '../../src/core/shared/neutron-types.js';

export const HOST = 'node-1';

/** Answers CHECK from what FakeBinder plugged (the "kernel" view), unless a test overrides a link. */
export class FakeInspector implements NetnsInspector {
  readonly overrides = new Map<string, NetnsLinkState | null>();
  constructor(private readonly binder: FakeBinder) {}
  async inspect(netnsPath: string, ifName: string): Promise<NetnsLinkState | null> {
    const key = `${netnsPath}/${ifName}`;
    if (this.overrides.has(key)) return this.overrides.get(key)!;
    for (const [portId, target] of this.binder.targets) {
      if (target?.netnsPath !== netnsPath || target.ifName !== ifName) continue;
      const vif = this.binder.plugged.get(portId)!;
      return { mac: vif.macAddress, mtu: vif.mtu, addresses: vif.addresses.map((a) => `${a.address}/${a.prefixLength}`), routes: vif.routes.map((r) => ({ dst: r.destination, gw: r.nexthop })) };
    }
    return null;
  }
  async hostMac(): Promise<string | undefined> {
    return 'aa:bb:cc:00:00:01';
  }
  /** Network namespaces removed behind the daemon's back: their veths are gone (both ends). */
  readonly goneNetns = new Set<string>();
  async hostVeths(): Promise<HostVeth[]> {
    return [...this.binder.plugged.values()].flatMap((v) => {
      const target = this.binder.targets.get(v.portId) ?? null;
      return target !== null && this.goneNetns.has(target.netnsPath) ? [] : [{ name: v.hostIfName, peerInHost: target === null }];
    });
  }
}

export class FakeProbe implements ControlPlaneProbe {
  down: 'keystone' | 'neutron' | 'dataplane' | undefined;
  async keystone() { if (this.down === 'keystone') throw new Error('connect ECONNREFUSED 127.0.0.1:5000'); }
  async neutron() { if (this.down === 'neutron') throw new Error('connect ECONNREFUSED 127.0.0.1:9696'); }
  async dataplane() { if (this.down === 'dataplane') throw new Error('bridge br-int is missing'); }
}

export async function podWorld(
  opts: FakeNeutronOptions & { activeTimeoutMs?: number; networkDeviceMtu?: number; nested?: (neutron: FakeNeutron, net: Network) => Promise<NestedAttachment>;
    namespaceSubnet?: (neutron: FakeNeutron) => Promise<NamespaceSubnetOptions>; dualStack?: boolean } = {},
) {
  const neutron = new FakeNeutron(opts);
  const binder = new FakeBinder();
  const inspector = new FakeInspector(binder);
  const probe = new FakeProbe();
  const net = await neutron.createNetwork({ name: 'pods', mtu: 1450 });
  const subnet = await neutron.createSubnet({ networkId: net.id, ipVersion: 4, cidr: '10.1.0.0/24', dnsNameservers: ['10.96.0.10'], hostRoutes: [{ destination: '172.16.0.0/16', nexthop: '10.1.0.254' }], enableDhcp: false });
  const other = await neutron.createSubnet({ networkId: net.id, ipVersion: 4, cidr: '10.2.0.0/24', enableDhcp: false });
  const sg = await neutron.createSecurityGroup({ name: 'pods' });
  const v6 = opts.dualStack ? await neutron.createSubnet({ networkId: net.id, ipVersion: 6, cidr: 'fd00:1::/64', gatewayIp: 'fd00:1::1', enableDhcp: false }) : undefined;
  let clock = 0;
  const nested = opts.nested ? await opts.nested(neutron, net) : undefined;
  const namespaceSubnet = opts.namespaceSubnet ? await opts.namespaceSubnet(neutron) : undefined;
  const service = new PodNetworkService({
    neutron, binder, inspector, probe,
    ...(nested ? { nested } : {}),
    options: {
      hostId: HOST, projectId: undefined, podSubnetId: subnet.id, podSubnetIds: v6 ? [subnet.id, v6.id] : [], securityGroups: [sg.id], networkDeviceMtu: opts.networkDeviceMtu ?? 0,
      resourceTags: ['cluster:k1'], activeTimeoutMs: opts.activeTimeoutMs ?? 1_000, cacheTtlMs: 30_000,
      ...(namespaceSubnet ? { namespaceSubnet } : {}),
    },
    sleep: async (ms) => { clock += ms; await new Promise((r) => setImmediate(r)); },
    now: () => clock,
  });
  return { neutron, binder, inspector, probe, service, net, subnet, other, sg };
}

let seq = 0;
export function addReq(over: Partial<PodAddRequest> = {}): PodAddRequest {
  seq++;
  return {
    containerId: `c${seq}${'0'.repeat(60)}`.slice(0, 64),
    ifName: 'eth0',
    network: 'kuryr',
    netns: `/var/run/netns/cni-${seq}`,
    pod: { namespace: 'demo', name: `web-${seq}`, uid: `uid-${seq}` },
    annotations: {},
    ...over,
  };
}
