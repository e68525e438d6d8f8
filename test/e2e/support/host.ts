import { sh } from './sh.js';

/** Kuryr's host devices still present on this host: `tap*`/`t_c*` links and OVS interfaces owned by kuryr. */
export async function kuryrHostLeftovers(portIds: string[], netns?: string): Promise<string[]> {
  const left: string[] = [];
  const links = await sh(netns ? ['ip', '-n', netns, '-o', 'link', 'show'] : ['ip', '-o', 'link', 'show']);
  for (const id of portIds) {
    const short = id.slice(0, 11);
    for (const prefix of ['tap', 't_c', 'qvo', 'qvb', 'qbr']) {
      if (links.stdout.includes(`${prefix}${short}`)) left.push(`link ${prefix}${short}`);
    }
  }
  const ovs = await sh(['ovs-vsctl', '--format=json', '--columns=name,external_ids', 'find', 'Interface', 'external_ids:owner=kuryr']);
  if (ovs.code === 0) {
    const rows = (JSON.parse(ovs.stdout) as { data: unknown[][] }).data;
    for (const row of rows) {
      const name = String(row[0]);
      if (portIds.some((id) => JSON.stringify(row[1]).includes(id))) left.push(`ovs ${name}`);
    }
  }
  return left;
}

/** All OVS interfaces with external_ids:owner=kuryr (any port). */
export async function kuryrOvsInterfaces(): Promise<string[]> {
  const ovs = await sh(['ovs-vsctl', '--format=json', '--columns=name', 'find', 'Interface', 'external_ids:owner=kuryr']);
  if (ovs.code !== 0) return [];
  return (JSON.parse(ovs.stdout) as { data: unknown[][] }).data.map((r) => String(r[0]));
}
