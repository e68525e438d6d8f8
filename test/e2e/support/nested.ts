/**
 * A "VM" for nested mode: a netns with a Neutron port plugged into br-int as Nova/os-vif would
 * (FakeVm), its own dockerd (scripts/nested-vm.sh) and our daemon inside it in nested mode with the
 * tenant's credentials (the `demo` user, role member only), as a cloud user runs Kuryr in a VM.
 */
import { hostname } from 'node:os';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NeutronApi } from '../../../src/core/shared/neutron-api.js';
import type { Network, Port, Subnet } from '../../../src/core/shared/neutron-types.js';
import { DockerCli } from './docker.js';
import { KuryrDaemon } from './kuryr-daemon.js';
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

export interface NestedHostOptions {
  name: string;
  /** `macvlan` (Docker and CNI) or `ipvlan` (CNI only). */
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
