/**
 * Leak check for one Docker network's life on the real stack: once its containers and the network are
 * removed, nothing of ours may remain for it (Neutron network, subnet, pool, ports in its range,
 * exposed-ports groups whose port is gone, OVS ports whose Neutron port is gone).
 */
import type { NeutronClient } from '../../../src/southbound/openstack/neutron.js';
import { sh } from './sh.js';

/** Neutron IDs of the `kuryr-net-…` networks that exist now; take it before the network is created. */
export async function kuryrNetworkIds(neutron: NeutronClient): Promise<Set<string>> {
  return new Set((await neutron.listNetworks()).filter((n) => n.name.startsWith('kuryr-net-')).map((n) => n.id));
}

/** OVS interfaces of ours whose Neutron port no longer exists. */
export async function orphanPlugs(existing: Set<string>): Promise<string[]> {
  const ovs = await sh(['ovs-vsctl', '--format=json', '--columns=name,external_ids', 'find', 'Interface', 'external_ids:owner=kuryr']);
  const rows = ovs.code === 0 ? (JSON.parse(ovs.stdout) as { data: Array<[string, [string, Array<[string, string]>]]> }).data : [];
  const left: string[] = [];
  for (const [name, [, pairs]] of rows) {
    const iface = pairs.find(([k]) => k === 'iface-id')?.[1];
    if (iface !== undefined && !existing.has(iface)) left.push(`ovs ${name} (iface-id ${iface})`);
  }
  return left;
}

/**
 * What is left of a removed Docker network `did` on `cidr` (a /24): its Neutron network and any
 * `kuryr-net-…` network not in `netsBefore` (an interrupted create), pool, subnet, ports in the range,
 * orphaned groups and plugs. Empty when nothing leaked.
 */
export async function dockerNetworkLeaks(neutron: NeutronClient, did: string, cidr: string, netsBefore: Set<string>): Promise<string[]> {
  const lh = `kuryr.net.uuid.lh:${did.slice(0, 32)}`;
  const tagged = did === '' ? [] : (await neutron.listNetworks({ tags: [lh] })).map((n) => n.id);
  const nets = [...tagged, ...[...(await kuryrNetworkIds(neutron))].filter((id) => !netsBefore.has(id))];
  const pools = await neutron.listSubnetPools({ name: `kuryrPool-${cidr}` });
  const subnets = await neutron.listSubnets({ cidr });
  const ports = await neutron.listPorts({ deviceOwner: 'compute:kuryr' });
  const prefix = cidr.slice(0, cidr.lastIndexOf('.') + 1);
  const inRange = (p: { fixedIps: Array<{ ipAddress: string }> }) => p.fixedIps.some((f) => f.ipAddress.startsWith(prefix));
  const unbound = [...(await neutron.listPorts({ name: 'kuryr-unbound-port' })), ...ports].filter(inRange);
  const sgs = (await neutron.listSecurityGroups()).filter((s) => s.name.endsWith('-exposed_ports') && !ports.some((p) => s.name.startsWith(p.id)));
  const plugs = await orphanPlugs(new Set((await neutron.listPorts()).map((p) => p.id)));
  return [...new Set(nets)]
    .map((n) => `network ${n}`)
    .concat(pools.map((p) => `pool ${p.name}`), subnets.map((s) => `subnet ${s.id}`), [...new Set(unbound.map((p) => p.id))].map((id) => `port ${id}`), sgs.map((s) => `sg ${s.name}`), plugs);
}
