import { must, sh } from './sh.js';

/**
 * A "VM": a plain Neutron port plugged into a network namespace the way Nova + os-vif do on an OVS
 * compute host (veth `tap<port[:11]>` into br-int with the external_ids the agent expects), not through Kuryr.
 */
export interface VmPort {
  id: string;
  macAddress: string;
  deviceId: string;
  addresses: Array<{ ip: string; prefixLength: number }>;
  gateway?: string | null;
}

export class FakeVm {
  readonly tap: string;
  constructor(
    readonly netns: string,
    readonly port: VmPort,
  ) {
    this.tap = `tap${port.id.slice(0, 11)}`;
  }

  /** Plugs into br-int on the OVS host (root netns). */
  async plugOvs(mtu: number): Promise<void> {
    const { netns: ns, tap, port } = this;
    await must(['ip', 'netns', 'add', ns]);
    await must(['ip', 'link', 'add', tap, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', String(mtu), 'netns', ns]);
    await must(['ip', '-n', ns, 'link', 'set', 'eth0', 'address', port.macAddress]);
    // the OVS userspace datapath loses checksum-offload metadata on veths: TCP needs tx off
    await must(['ip', 'netns', 'exec', ns, 'ethtool', '-K', 'eth0', 'tx', 'off']);
    await this.configureInside();
    await must(['ip', 'link', 'set', tap, 'up']);
    await must([
      'ovs-vsctl', '--', '--may-exist', 'add-port', 'br-int', tap, '--', 'set', 'Interface', tap,
      `external-ids:iface-id=${port.id}`, 'external-ids:iface-status=active',
      `external-ids:attached-mac=${port.macAddress}`, `external-ids:vm-uuid=${port.deviceId}`, 'external-ids:e2e-vm=1',
    ]);
  }

  /** Plugs on the Linux-bridge host: `tap<id>` in that netns; the caller enslaves it to `brq<net>` as os-vif would. */
  async plugLinuxBridge(hostNetns: string, mtu: number): Promise<void> {
    const { netns: ns, tap } = this;
    await must(['ip', 'netns', 'add', ns]);
    await must(['ip', '-n', hostNetns, 'link', 'add', tap, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', String(mtu), 'netns', ns]);
    await must(['ip', '-n', ns, 'link', 'set', 'eth0', 'address', this.port.macAddress]);
    await this.configureInside();
    await must(['ip', '-n', hostNetns, 'link', 'set', tap, 'up']);
  }

  private async configureInside(): Promise<void> {
    const ns = this.netns;
    await must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    await must(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    for (const a of this.port.addresses) {
      const v6 = a.ip.includes(':');
      await must(['ip', '-n', ns, 'addr', 'add', `${a.ip}/${a.prefixLength}`, 'dev', 'eth0', ...(v6 ? ['nodad'] : [])]);
    }
    if (this.port.gateway) await must(['ip', '-n', ns, 'route', 'add', 'default', 'via', this.port.gateway]);
  }

  ping(target: string, count = 3): Promise<boolean> {
    const v6 = target.includes(':');
    return sh(['ip', 'netns', 'exec', this.netns, 'ping', ...(v6 ? ['-6'] : []), '-c', String(count), '-i', '0.2', '-W', '2', target]).then((r) => r.code === 0);
  }

  /**
   * True once a ping gets through within `timeoutMs`. A new port's address reaches the other ports'
   * security groups (remote group) through agent RPCs that may lag behind the ping the other way.
   */
  async reaches(target: string, timeoutMs = 30_000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (await this.ping(target, 1)) return true;
      if (Date.now() >= until) return false;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async destroy(hostNetns?: string): Promise<void> {
    await sh(['ovs-vsctl', '--if-exists', 'del-port', 'br-int', this.tap]);
    if (hostNetns) await sh(['ip', '-n', hostNetns, 'link', 'del', this.tap]);
    else await sh(['ip', 'link', 'del', this.tap]);
    await sh(['ip', 'netns', 'del', this.netns]);
  }
}
