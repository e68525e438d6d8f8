import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { NeutronClient } from '../../../src/southbound/openstack/neutron.js';
import type { Network, Port, Subnet } from '../../../src/core/shared/neutron-types.js';
import { DockerCli } from './docker.js';
import { kuryrHostLeftovers, kuryrOvsInterfaces } from './host.js';
import { type DaemonOptions, KuryrDaemon } from './kuryr-daemon.js';
import { adminClients, kuryrProjectClients, stackIsUp, waitActive } from './neutron.js';
import { FakeVm } from './vm.js';
import { must, sh } from './sh.js';

export const HOST = hostname();
export const E2E = 'e2e-';

/** One e2e file's world: the real dockerd, our daemon on the default plugin socket, admin Neutron. */
export class DockerE2e {
  readonly docker = new DockerCli();
  readonly openstack = adminClients();
  readonly neutron: NeutronClient = this.openstack.neutron;
  readonly daemon: KuryrDaemon;
  private readonly vms: FakeVm[] = [];
  private readonly cleanups: Array<() => Promise<unknown>> = [];

  /** `daemon`: our daemon's socket and extra kuryr.conf lines (default: the default plugin socket, default config). */
  constructor(daemon: DaemonOptions = {}) {
    this.daemon = new KuryrDaemon(daemon);
  }

  static async skipReason(): Promise<string | undefined> {
    if (process.getuid?.() !== 0) return 'e2e tests need root';
    if (!(await stackIsUp())) return 'the all-in-one stack is not up (bash scripts/aio.sh up)';
    if ((await sh(['/usr/bin/docker', 'info'])).code !== 0) return 'dockerd is not running (bash scripts/aio.sh up)';
    return undefined;
  }

  async start(): Promise<void> {
    await this.docker.removeAll(E2E);
    await this.daemon.start();
  }

  async stop(): Promise<void> {
    await this.docker.removeAll(E2E);
    for (const vm of this.vms.splice(0)) await vm.destroy();
    for (const c of this.cleanups.splice(0).reverse()) await c().catch(() => undefined);
    await this.daemon.stop();
    await this.openstack.close();
  }

  /** Registers an undo to run at stop(), newest first. */
  later(fn: () => Promise<unknown>): void {
    this.cleanups.push(fn);
  }

  async containerIp(name: string, net: string): Promise<{ ip: string; ip6: string; mac: string; endpointId: string }> {
    const c = await this.docker.containerInspect(name);
    const n = c.NetworkSettings.Networks[net];
    assert.ok(n, `container ${name} is not on ${net}`);
    return { ip: n.IPAddress, ip6: n.GlobalIPv6Address, mac: n.MacAddress, endpointId: n.EndpointID };
  }

  async ping(from: string, to: string, count = 3): Promise<boolean> {
    const r = await this.docker.run(['exec', from, 'ping', '-c', String(count), '-W', '2', to], 30_000);
    return r.code === 0;
  }

  /** A user-owned Neutron network + subnet, as an operator would make with the openstack CLI. */
  async userNetwork(name: string, cidr: string, gateway: string, projectId?: string): Promise<{ network: Network; subnet: Subnet }> {
    const network = await this.neutron.createNetwork({ name, ...(projectId ? { projectId } : {}) });
    this.later(() => this.neutron.deleteNetwork(network.id));
    const subnet = await this.neutron.createSubnet({ networkId: network.id, ipVersion: 4, cidr, gatewayIp: gateway, name: `${name}-subnet`, enableDhcp: false, ...(projectId ? { projectId } : {}) });
    return { network, subnet };
  }

  /**
   * A "VM": a Neutron port bound to this host and plugged the way os-vif does, not through Kuryr.
   * It lives in `projectId` (Kuryr's project by default use) so the default security group, which
   * admits traffic from its own members only, treats containers and VMs alike.
   */
  async vm(name: string, networkId: string, subnet: Subnet, mtu: number, projectId?: string): Promise<{ vm: FakeVm; port: Port }> {
    const port = await this.neutron.createPort({ networkId, name, deviceOwner: 'compute:nova', deviceId: randomUUID(), hostId: HOST, fixedIps: [{ subnetId: subnet.id }], ...(projectId ? { projectId } : {}) });
    this.later(() => this.neutron.deletePort(port.id));
    const prefixLength = Number(subnet.cidr.split('/')[1]);
    const vm = new FakeVm(`${E2E}${name}`, {
      id: port.id,
      macAddress: port.macAddress,
      deviceId: port.deviceId,
      addresses: port.fixedIps.map((f) => ({ ip: f.ipAddress, prefixLength })),
      gateway: subnet.gatewayIp,
    });
    this.vms.push(vm);
    await vm.plugOvs(mtu);
    await waitActive(this.neutron, port.id);
    return { vm, port };
  }

  /** Unplugs a VM and deletes its port now (before the network it sits on is removed). */
  async removeVm(vm: FakeVm): Promise<void> {
    await vm.destroy();
    this.vms.splice(this.vms.indexOf(vm), 1);
    await this.neutron.deletePort(vm.port.id).catch(() => undefined);
  }

  /** Asserts nothing of Kuryr's is left for these ports: no Neutron port, no OVS port, no veth. */
  async assertNoLeftovers(portIds: string[]): Promise<void> {
    for (const id of portIds) {
      const still = await this.neutron.getPort(id).then(() => true, () => false);
      assert.equal(still, false, `Neutron port ${id} is still there`);
    }
    assert.deepEqual(await kuryrHostLeftovers(portIds), []);
  }

  private kuryrProject: string | undefined;
  /** Project id of Kuryr's service user (`service`), learned from a throwaway network it creates. */
  async kuryrProjectId(): Promise<string> {
    if (this.kuryrProject) return this.kuryrProject;
    const k = kuryrProjectClients();
    try {
      const net = await k.neutron.createNetwork({ name: `${E2E}probe-project` });
      await k.neutron.deleteNetwork(net.id);
      this.kuryrProject = net.projectId;
      return net.projectId;
    } finally {
      await k.close();
    }
  }

  async kuryrPorts(): Promise<Port[]> {
    return this.neutron.listPorts({ deviceOwner: 'compute:kuryr' });
  }

  async ovsKuryrInterfaces(): Promise<string[]> {
    return kuryrOvsInterfaces();
  }
}

/** TCP: `bytes` from a container to a VM's netns; resolves with the byte count the VM received. */
export async function tcpToVm(e2e: DockerE2e, container: string, vm: FakeVm, vmIp: string, bytes: number): Promise<number> {
  const port = 5001;
  const server = sh(['ip', 'netns', 'exec', vm.netns, 'timeout', '60', 'sh', '-c', `busybox nc -l -p ${port} | wc -c`], { timeoutMs: 70_000 });
  await new Promise((r) => setTimeout(r, 500));
  const client = await e2e.docker.run(['exec', container, 'sh', '-c', `head -c ${bytes} /dev/zero | nc -w 3 ${vmIp} ${port}`], 70_000);
  const got = await server;
  assert.equal(client.code, 0, `nc client failed: ${client.stderr}`);
  return Number(got.stdout.trim());
}

export { must, sh };
