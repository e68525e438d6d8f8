/** Reads what an interface looks like inside a netns (CNI CHECK) and the host's veths (the garbage collector). */
import { readFile } from 'node:fs/promises';
import type { HostVeth, NetnsInspector, NetnsLinkState } from '../../core/pod/pod-model.js';
import type { Exec } from './exec.js';
import { listLinks, netnsFile } from './ip.js';

interface IpAddrJson { ifname: string; mtu: number; address: string; addr_info?: Array<{ family: string; local: string; prefixlen: number; scope?: string }> }
interface IpRouteJson { dst: string; gateway?: string }

/** Reads an interface inside a netns with `nsenter --net=… ip -json` (address and route listings in parallel). */
export class IpNetnsInspector implements NetnsInspector {
  constructor(private readonly exec: Exec) {}

  async inspect(netnsPath: string, ifName: string): Promise<NetnsLinkState | null> {
    const ns = ['nsenter', `--net=${netnsFile(netnsPath)}`, 'ip', '-json'];
    const addr = await this.exec([...ns, 'addr', 'show', 'dev', ifName], { okCodes: [0, 1, 255] }).catch(() => undefined);
    const links = addr && addr.stdout.trim() !== '' ? (JSON.parse(addr.stdout) as IpAddrJson[]) : [];
    const link = links[0];
    if (!link) return null;
    const [r4, r6] = await Promise.all([4, 6].map((f) => this.exec([...ns, `-${f}`, 'route', 'show', 'dev', ifName])));
    const routes = [...parseRoutes(r4!.stdout, '0.0.0.0/0'), ...parseRoutes(r6!.stdout, '::/0')];
    const addresses = (link.addr_info ?? []).filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`);
    return { mac: link.address, mtu: link.mtu, addresses, routes };
  }

  async hostMac(ifName: string): Promise<string | undefined> {
    return readFile(`/sys/class/net/${ifName}/address`, 'utf8').then((s) => s.trim(), () => undefined);
  }

  /** `ip -json link show type veth`: a peer in the same netns is named in `link`, one elsewhere has `link_netnsid`. */
  async hostVeths(): Promise<HostVeth[]> {
    return (await listLinks(this.exec, 'veth')).map((l) => ({ name: l.ifname, peerInHost: l.link !== undefined && l.link_netnsid === undefined }));
  }
}

function parseRoutes(stdout: string, defaultDst: string): Array<{ dst: string; gw: string | undefined }> {
  if (stdout.trim() === '') return [];
  return (JSON.parse(stdout) as IpRouteJson[]).map((r) => ({ dst: r.dst === 'default' ? defaultDst : r.dst, gw: r.gateway }));
}
