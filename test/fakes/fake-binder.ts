/**
 * In-memory Binder: records plugged VIFs by port ID, can be told to fail plug or unplug.
 */
import { BindingError } from '../../src/common/errors.js';
import type { Binder, PluggedVif, Vif, VifTarget } from '../../src/core/shared/binder.js';

export class FakeBinder implements Binder {
  readonly plugged = new Map<string, Vif>();
  readonly targets = new Map<string, VifTarget | null>();
  /** Every plug/unplug, in order, for debugging (tests assert on `plugged`). */
  readonly log: Array<{ op: 'plug' | 'unplug'; portId: string }> = [];
  failPlug: ((vif: Vif) => boolean) | undefined;
  failUnplug: ((portId: string) => boolean) | undefined;

  async plug(vif: Vif, target: VifTarget | null): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.log.push({ op: 'plug', portId: vif.portId });
    if (this.failPlug?.(vif) === true) throw new BindingError(`fake plug failure for port ${vif.portId}`);
    this.plugged.set(vif.portId, structuredClone(vif));
    this.targets.set(vif.portId, target);
  }

  async unplug(vif: Pick<Vif, 'portId' | 'hostIfName' | 'containerIfName' | 'vifType' | 'vifDetails' | 'networkId'>, _target: VifTarget | null): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.log.push({ op: 'unplug', portId: vif.portId });
    if (this.failUnplug?.(vif.portId) === true) throw new BindingError(`fake unplug failure for port ${vif.portId}`);
    this.plugged.delete(vif.portId);
    this.targets.delete(vif.portId);
  }

  async listPlugged(): Promise<PluggedVif[]> {
    return [...this.plugged.values()].map((v) => ({ portId: v.portId, hostIfName: v.hostIfName, deviceId: v.deviceId, kind: 'ovs' as const }));
  }
}
