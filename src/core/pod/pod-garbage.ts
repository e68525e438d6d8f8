/**
 * The CNI daemon's garbage collector (docs/ownership.md, rule 8): pod ports of this node that no pod
 * uses any more, because the runtime never sent DEL (the node's runtime gave up, the daemon was killed
 * mid-ADD, the pod's netns was removed behind our back). A pod uses its port while the port's host veth
 * exists with its other end inside a netns: a netns that goes away takes both ends with it, and an end
 * still in the host netns never reached a pod. Dry run unless `apply`.
 */
import type { Logger } from '../../common/log.js';
import { isPoolPort } from '../port-pool/pool-tags.js';
import type { Binder } from '../shared/binder.js';
import { DEVICE_OWNER, containerIfName, hostIfName } from '../shared/device-names.js';
import { type GcFinding, type GcOptions, collectOrphanPlugs, gcActor, graceClock } from '../shared/gc.js';
import type { NeutronApi } from '../shared/neutron-api.js';
import type { Port } from '../shared/neutron-types.js';
import type { HostVeth } from './pod-model.js';
import { nodeTag } from './pod-tags.js';

export type PodGcKind = 'pod-port' | 'plug';
export type PodGcFinding = GcFinding<PodGcKind>;

/** What the collector needs; `pods` is the pod use cases' side: their locks and their removal. */
export interface PodGarbageDeps {
  neutron: Pick<NeutronApi, 'listPorts' | 'getPort'>;
  binder: Pick<Binder, 'listPlugged' | 'unplug'>;
  hostVeths(): Promise<HostVeth[]>;
  hostId: string;
  /** Networks of the configured pod subnets: an untagged port (ADD killed before tagging) is a pod's only there. */
  podNetworkIds(): Promise<Set<string>>;
  pods: {
    /** True while a call for the pod of this port runs or waits. */
    busy(port: Port): boolean;
    /** Removes the port as DEL does (unplug, delete), under the pod's lock. */
    remove(port: Port): Promise<void>;
  };
  now: () => number;
  log: Logger;
}

const CNI_TAG_PREFIX = 'kuryr.cni.';

export async function collectPodGarbage(deps: PodGarbageDeps, opts: GcOptions): Promise<PodGcFinding[]> {
  const findings: PodGcFinding[] = [];
  const act = gcActor<PodGcKind>(deps.log, opts, findings);
  const { old, forget } = graceClock(deps.now, opts);
  const mine = nodeTag(deps.hostId);
  // bound to this node only: a nested pod's port (never bound) has no host veth to judge by
  const bound = await deps.neutron.listPorts({ deviceOwner: DEVICE_OWNER, hostId: deps.hostId });
  const podNets = bound.some((p) => p.tags.length === 0) ? await deps.podNetworkIds() : new Set<string>();
  const ports = bound.filter((p) => !isPoolPort(p) && (p.tags.includes(mine) || (p.tags.length === 0 && podNets.has(p.networkId))));
  const veths = new Map((await deps.hostVeths()).map((v) => [v.name, v]));
  for (const port of ports) {
    const why = unusedBecause(port, veths);
    if (why === undefined || deps.pods.busy(port) || !old(port.id, port.updatedAt)) continue;
    const what = port.tags.some((t) => t.startsWith(CNI_TAG_PREFIX)) ? `pod ${port.name || port.deviceId}` : `untagged pod port (ADD cut short) of ${port.deviceId}`;
    await act({ kind: 'pod-port', id: port.id, why: `${what}: ${why}` }, () => deps.pods.remove(port));
  }
  await collectOrphanPlugs(deps, () => false, act);
  forget();
  return findings;
}

/** Why no pod uses the port, or undefined while one does. */
function unusedBecause(port: Port, veths: Map<string, HostVeth>): string | undefined {
  const host = veths.get(hostIfName(port.id));
  if (host === undefined) return `its host veth ${hostIfName(port.id)} is gone (the pod's network namespace was removed, or ADD never plugged it)`;
  if (host.peerInHost) return `its container end ${containerIfName(port.id)} never left the host netns (ADD cut short)`;
  return undefined;
}
