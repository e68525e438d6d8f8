/**
 * An in-memory parking data plane: which ports are parked, on the host or in a target, and which
 * host ends exist. Fails plugs of chosen ports.
 */
import { BindingError } from '../../src/common/errors.js';
import type { Vif, VifTarget } from '../../src/core/shared/binder.js';
import type { ParkingDataplane } from '../../src/core/port-pool/pool-model.js';

export class FakeParking implements ParkingDataplane {
  /** Link name → where the container end is: `parked`, `host` or a target netns path. */
  readonly links = new Map<string, string>();
  readonly hosts = new Set<string>();
  readonly failPlug = new Set<string>();
  plugs = 0;

  async park(vifs: Vif[]): Promise<Array<{ portId: string; error: unknown }>> {
    const failed: Array<{ portId: string; error: unknown }> = [];
    for (const v of vifs) {
      if (this.failPlug.has(v.portId)) {
        failed.push({ portId: v.portId, error: new BindingError(`plug of ${v.portId} failed`) });
        continue;
      }
      this.plugs++;
      this.links.set(v.containerIfName, 'parked');
      this.hosts.add(v.hostIfName);
      this.portIds.set(v.hostIfName, v.portId);
    }
    return failed;
  }

  async parkedLinks(): Promise<Set<string>> {
    return new Set([...this.links].filter(([, where]) => where === 'parked').map(([n]) => n));
  }

  /** Host end → label. */
  readonly labels = new Map<string, string>();

  /** Host end → full port id (as the real host end's alias carries it). */
  readonly portIds = new Map<string, string>();

  async hostEnds(): Promise<Map<string, { portId: string; user: string }>> {
    return new Map([...this.hosts].map((h) => [h, { portId: this.portIds.get(h) ?? '', user: this.labels.get(h) ?? '' }]));
  }

  async label(vif: Vif, user: string): Promise<void> {
    this.labels.set(vif.hostIfName, user);
  }

  async toHost(vif: Vif): Promise<void> {
    this.move(vif, 'host');
  }

  async into(vif: Vif, target: VifTarget): Promise<void> {
    this.move(vif, target.netnsPath);
  }

  async back(vif: Vif, _from: VifTarget | null): Promise<boolean> {
    if (!this.links.has(vif.containerIfName)) return false;
    this.links.set(vif.containerIfName, 'parked');
    return true;
  }

  async unplug(vif: Vif): Promise<void> {
    this.links.delete(vif.containerIfName);
    this.hosts.delete(vif.hostIfName);
  }

  async removeParked(names: string[]): Promise<void> {
    for (const n of names) {
      this.links.delete(n);
      this.hosts.delete(`tap${n.slice(3)}`);
    }
  }

  /** The container's namespace died: the veth pair is gone. */
  vanish(vif: Pick<Vif, 'containerIfName' | 'hostIfName'>): void {
    this.links.delete(vif.containerIfName);
    this.hosts.delete(vif.hostIfName);
  }

  private move(vif: Vif, where: string): void {
    if (this.links.get(vif.containerIfName) !== 'parked') throw new BindingError(`${vif.containerIfName} is not parked`);
    this.links.set(vif.containerIfName, where);
  }
}
