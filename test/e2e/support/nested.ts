/**
 * A "VM" for nested mode: a netns with a Neutron port plugged into br-int as Nova/os-vif would
 * (FakeVm), its own dockerd (scripts/nested-vm.sh) and our daemon inside it in nested mode with the
 * tenant's credentials (the `demo` user, role member only), as a cloud user runs Kuryr in a VM.
 */
import { hostname } from 'node:os';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NeutronApi } from '../../../src/core/shared/neutron-api.js';
import type { NeutronClient } from '../../../src/southbound/openstack/neutron.js';
import type { Network, Port, SecurityGroup, Subnet } from '../../../src/core/shared/neutron-types.js';
import { DockerCli } from './docker.js';
import { KuryrDaemon } from './kuryr-daemon.js';
import { waitActive } from './neutron.js';
import { must, sh } from './sh.js';
import { FakeVm } from './vm.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * A Nova-like VM port on the OVS host: bound to this host, in the network's project, with the given
 * groups. `bound = false` leaves the binding for later, as Nova does with a trunk parent (Neutron's OVS
 * trunk driver refuses a bound port as parent).
 */
export async function createVmPort(admin: NeutronApi, net: Network, subnet: Subnet, name: string, securityGroups: string[], bound = true): Promise<Port> {
  return admin.createPort({
    networkId: net.id,
    name,
    projectId: net.projectId,
    ...(bound ? { hostId: hostname() } : {}),
    deviceOwner: 'compute:nova',
    deviceId: name,
    fixedIps: [{ subnetId: subnet.id }],
    securityGroups,
  });
}

/** Removes networks named `name` with every port on them (VM taps in br-int included), for test clean-up. */
export async function removeVmNetworks(admin: Pick<NeutronApi, 'listNetworks' | 'listPorts' | 'deletePort' | 'deleteNetwork'>, name: string): Promise<void> {
  for (const n of await admin.listNetworks({ name })) {
    for (const p of await admin.listPorts({ networkId: n.id })) {
      if (p.deviceOwner === 'network:dhcp') continue;
      await sh(['ovs-vsctl', '--if-exists', 'del-port', 'br-int', `tap${p.id.slice(0, 11)}`]);
      await sh(['ip', 'link', 'del', `tap${p.id.slice(0, 11)}`]);
      await admin.deletePort(p.id).catch(() => undefined);
    }
    await admin.deleteNetwork(n.id).catch(() => undefined);
  }
}

export function fakeVmOf(netns: string, port: Port, prefixLength: number): FakeVm {
  return new FakeVm(netns, {
    id: port.id,
    macAddress: port.macAddress,
    deviceId: port.deviceId,
    addresses: port.fixedIps.map((f) => ({ ip: f.ipAddress, prefixLength })),
    gateway: null,
  });
}

/** A tenant's network with two Nova-like VMs plugged and ACTIVE, as a cloud user sets one up. */
export interface TwoVms {
  net: Network;
  subnet: Subnet;
  /** Admits ICMP and TCP from anywhere; both VM ports are in it. */
  sg: SecurityGroup;
  vmPort: Port;
  vm2Port: Port;
  vm: FakeVm;
  vm2: FakeVm;
}

/** `<prefix>net`/`subnet`/`open` made by the tenant (`demo`), VM ports `<prefix>vm1`/`vm2` by the admin (Nova), VM netns of the same names. */
export async function twoVms(admin: NeutronClient, demo: NeutronClient, prefix: string, cidr: string, gatewayIp: string): Promise<TwoVms> {
  const net = await demo.createNetwork({ name: `${prefix}net` });
  const subnet = await demo.createSubnet({ networkId: net.id, ipVersion: 4, cidr, gatewayIp, name: `${prefix}subnet` });
  const sg = await demo.createSecurityGroup({ name: `${prefix}open` });
  for (const protocol of ['icmp', 'tcp']) await demo.createSecurityGroupRule({ securityGroupId: sg.id, direction: 'ingress', ethertype: 'IPv4', protocol });
  const vmPort = await createVmPort(admin, net, subnet, `${prefix}vm1`, [sg.id]);
  const vm2Port = await createVmPort(admin, net, subnet, `${prefix}vm2`, [sg.id]);
  const prefixLength = Number(cidr.split('/')[1]);
  const vm = fakeVmOf(`${prefix}vm1`, vmPort, prefixLength);
  const vm2 = fakeVmOf(`${prefix}vm2`, vm2Port, prefixLength);
  await Promise.all([vm.plugOvs(net.mtu ?? 1500), vm2.plugOvs(net.mtu ?? 1500)]);
  await Promise.all([waitActive(admin, vmPort.id), waitActive(admin, vm2Port.id)]);
  return { net, subnet, sg, vmPort, vm2Port, vm, vm2 };
}

export interface NestedHostOptions {
  name: string;
  /** `macvlan` or `vlan` (ipvlan is CNI only: Docker sets a MAC an ipvlan device cannot take). */
  bindingDriver: 'macvlan' | 'vlan';
  portDriver: 'nested' | 'vlan';
}

/** dockerd + Kuryr inside a VM netns. */
export class NestedDockerHost {
  readonly docker: DockerCli;
  readonly daemon: KuryrDaemon;

  constructor(
    readonly vm: FakeVm,
    readonly opts: NestedHostOptions,
  ) {
    const dir = `/run/aio/mh-${opts.name}`;
    this.docker = new DockerCli(`unix://${dir}/docker.sock`);
    this.daemon = new KuryrDaemon({
      netns: vm.netns,
      socketPath: `${dir}/plugins/kuryr.sock`,
      hostId: opts.name,
      credentials: { username: 'demo', password: 'demo', projectName: 'demo' },
      extraConfig: [
        '[DEFAULT]',
        `default_port_driver = kuryr_libnetwork.port_driver.drivers.${opts.portDriver}`,
        `enabled_port_drivers = kuryr_libnetwork.port_driver.drivers.${opts.portDriver}`,
        '[binding]',
        `default_driver = kuryr.lib.binding.drivers.${opts.bindingDriver}`,
        `enabled_drivers = kuryr.lib.binding.drivers.${opts.bindingDriver}`,
        'link_iface = eth0',
      ].join('\n'),
    });
  }

  /** dockerd in the VM (the VM netns must exist: plug the FakeVm first), then our daemon. */
  async up(): Promise<void> {
    await must(['bash', `${ROOT}/scripts/nested-vm.sh`, 'up', this.opts.name, this.vm.netns], { timeoutMs: 180_000 });
    await this.daemon.start();
  }

  async down(): Promise<void> {
    await this.daemon.stop();
    await sh(['bash', `${ROOT}/scripts/nested-vm.sh`, 'down', this.opts.name, this.vm.netns], { timeoutMs: 120_000 });
  }

  /** Links of the VM netns whose names start with `t_c` (our nested devices before Docker moves them / after it gives them back). */
  async leftoverDevices(portIds: string[]): Promise<string[]> {
    const links = (await sh(['ip', '-n', this.vm.netns, '-o', 'link', 'show'])).stdout;
    return portIds.filter((id) => links.includes(`t_c${id.slice(0, 11)}`)).map((id) => `t_c${id.slice(0, 11)}`);
  }
}

/** One end of a TCP test: a container of some dockerd, or a bare network namespace (a pod, a VM) using the host's busybox. */
export type TcpEnd = { docker: DockerCli; container: string } | { netns: string };

/** Runs a busybox shell script at `end`; in a bare netns every applet is called through `busybox`. */
function inEnd(end: TcpEnd, script: (bb: string) => string, timeoutMs: number) {
  if ('docker' in end) return end.docker.run(['exec', end.container, 'sh', '-c', script('')], timeoutMs);
  return sh(['ip', 'netns', 'exec', end.netns, 'busybox', 'sh', '-c', script('busybox ')], { timeoutMs });
}

/**
 * 10 MiB over one TCP connection: `to` serves a 10 MiB file over HTTP (busybox httpd on 8080), `from`
 * fetches it from `toIp` and counts the bytes; the transfer ends at Content-Length, so the count is
 * exact. A second call finds the server running (its port taken). A netns server keeps running until
 * `stopServers(netns)`; a container's goes with the container.
 */
export async function tcpBytes(from: TcpEnd, to: TcpEnd, toIp: string): Promise<number> {
  const www = 'docker' in to ? '/tmp/www' : `/tmp/www-${to.netns}`;
  const served = await inEnd(to, (b) => `${b}mkdir -p ${www} && ${b}dd if=/dev/zero of=${www}/10m bs=1048576 count=10 2>/dev/null && (${b}httpd -p 8080 -h ${www} 2>/dev/null || true)`, 30_000);
  if (served.code !== 0) throw new Error(`httpd did not start: ${served.stderr.trim()}`);
  const host = toIp.includes(':') ? `[${toIp}]` : toIp;
  const r = await inEnd(from, (b) => `${b}wget -q -O - http://${host}:8080/10m | ${b}wc -c`, 60_000);
  return Number(r.stdout.trim() || '0');
}

/** Kills what runs in a bare netns (the httpd `tcpBytes` left there) and removes its files, for test clean-up. */
export async function stopServers(netns: string): Promise<void> {
  const pids = (await sh(['ip', 'netns', 'pids', netns])).stdout.split('\n').filter(Boolean);
  if (pids.length > 0) await sh(['kill', ...pids]);
  await sh(['rm', '-rf', `/tmp/www-${netns}`]);
}
