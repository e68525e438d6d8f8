/**
 * Neutron fixtures for the CNI e2e: a pod network + subnet, a VM network + subnet, a router joining
 * them, a permissive security group; and leak checks for ports tagged by the CNI daemon.
 */
import type { NeutronClient } from '../../../src/southbound/openstack/neutron.js';
import { sh } from './sh.js';

export interface CniTopology {
  podNetId: string;
  podSubnetId: string;
  vmNetId: string;
  vmSubnetId: string;
  routerId: string;
  sgId: string;
  mtu: number;
}

/** Creates the topology with name prefix `prefix`; `cleanup` removes whatever exists (ports first). */
export async function createTopology(neutron: NeutronClient, prefix: string, octet: number): Promise<CniTopology> {
  const podNet = await neutron.createNetwork({ name: `${prefix}pods` });
  const podSub = await neutron.createSubnet({ networkId: podNet.id, ipVersion: 4, cidr: `10.${octet}.1.0/24`, name: `${prefix}pods`, dnsNameservers: ['10.96.0.10'], enableDhcp: false });
  const vmNet = await neutron.createNetwork({ name: `${prefix}vms` });
  const vmSub = await neutron.createSubnet({ networkId: vmNet.id, ipVersion: 4, cidr: `10.${octet}.2.0/24`, name: `${prefix}vms`, enableDhcp: false });
  const router = await neutron.createRouter({ name: `${prefix}router` });
  await neutron.addRouterInterface(router.id, { subnetId: podSub.id });
  await neutron.addRouterInterface(router.id, { subnetId: vmSub.id });
  const sg = await neutron.createSecurityGroup({ name: `${prefix}allow` });
  for (const direction of ['ingress', 'egress'] as const) {
    await neutron.createSecurityGroupRule({ securityGroupId: sg.id, direction, ethertype: 'IPv4' }).catch(() => undefined);
  }
  return { podNetId: podNet.id, podSubnetId: podSub.id, vmNetId: vmNet.id, vmSubnetId: vmSub.id, routerId: router.id, sgId: sg.id, mtu: podNet.mtu ?? 1500 };
}

export async function destroyTopology(neutron: NeutronClient, prefix: string): Promise<void> {
  const ignore = () => undefined;
  for (const r of await neutron.listRouters({})) {
    if (!r.name.startsWith(prefix)) continue;
    for (const s of await neutron.listSubnets({})) if (s.name.startsWith(prefix)) await neutron.removeRouterInterface(r.id, { subnetId: s.id }).catch(ignore);
    await neutron.deleteRouter(r.id).catch(ignore);
  }
  for (const n of await neutron.listNetworks({})) {
    if (!n.name.startsWith(prefix)) continue;
    for (const p of await neutron.listPorts({ networkId: n.id })) await neutron.deletePort(p.id).catch(ignore);
    await neutron.deleteNetwork(n.id).catch(ignore);
  }
  for (const g of await neutron.listSecurityGroups({})) if (g.name.startsWith(prefix)) await neutron.deleteSecurityGroup(g.id).catch(ignore);
}

/** Ports on `networkId` that are not Neutron's own (router, DHCP). */
export async function podPorts(neutron: NeutronClient, networkId: string) {
  return (await neutron.listPorts({ networkId })).filter((p) => !p.deviceOwner.startsWith('network:'));
}

/** Pings `target` from inside a netns path with the host's ping. */
export async function pingFrom(netnsPath: string, target: string, count = 3): Promise<boolean> {
  const r = await sh(['nsenter', `--net=${netnsPath}`, 'ping', '-c', String(count), '-i', '0.2', '-W', '2', target]);
  return r.code === 0;
}
