/**
 * `kuryr network sync`: makes Kuryr networks created on other Docker hosts appear on this one by
 * name, without a cluster store (docs/multihost.md). Run on every host; idempotent.
 *  1. publish: each Kuryr network created on this host gets the Neutron tag
 *     `kuryr.net.name:<DID[:12]>:<docker name>` on its Neutron network (Docker never tells the
 *     driver the name, so sync reads it from the local engine);
 *  2. adopt: each live name tag without a Docker network of that name here becomes one, created with
 *     `-o neutron.net.uuid=<network>` and the network's subnet, labelled `LABEL_ADOPTED`;
 *  3. prune: adopted networks whose name tag went away (the creator removed its network: the tag
 *     is live only while that network's `kuryr.net.uuid.lh:<DID…>` tag is there) are removed.
 */
import { errorMessage } from '../../common/errors.js';
import type { NeutronApi } from '../shared/neutron-api.js';
import type { Network, Subnet } from '../shared/neutron-types.js';
import { TAG_LH_PREFIX, hasIdTags } from './tags.js';
import { MAX_TAG_LENGTH } from '../shared/tag-limit.js';

export const TAG_NAME_PREFIX = 'kuryr.net.name:';
/** Docker label on networks `sync` created; its value is the Neutron network ID. */
export const LABEL_ADOPTED = 'org.openstack.kuryr.adopted';

export interface DockerNetworkSummary {
  id: string;
  name: string;
  driver: string;
  labels: Record<string, string>;
}

export interface DockerNetworkSpec {
  name: string;
  driver: string;
  ipamDriver: string;
  subnets: Array<{ subnet: string; gateway?: string }>;
  enableIpv6: boolean;
  /** The Neutron network the Docker network stands for (the engine client passes it as `-o neutron.net.uuid`); absent lets the driver make one. */
  neutronNetworkId?: string;
  /** Neutron `shared` of that network (passed as `neutron.net.shared` to both the driver and IPAM). */
  shared: boolean;
  labels: Record<string, string>;
}

/** The few Docker Engine API calls sync needs (implemented in `southbound/docker-engine`). */
export interface DockerEngineApi {
  listNetworks(): Promise<DockerNetworkSummary[]>;
  /** Returns the new network's ID. */
  createNetwork(spec: DockerNetworkSpec): Promise<string>;
  removeNetwork(id: string): Promise<void>;
}

export type SyncAction = 'published' | 'adopted' | 'present' | 'conflict' | 'pruned' | 'kept' | 'skipped' | 'failed';
export interface SyncEntry {
  action: SyncAction;
  name: string;
  neutronNetworkId?: string;
  detail?: string;
}

export interface SyncOptions {
  /** Docker driver name of Kuryr on this host; `kuryr`. */
  driver: string;
  dryRun?: boolean;
}

/** `kuryr.net.name:<DID[:12]>:<name>`, or undefined when it would exceed Neutron's 60 characters. */
export function nameTag(did: string, name: string): string | undefined {
  const tag = `${TAG_NAME_PREFIX}${did.slice(0, 12)}:${name}`;
  return tag.length <= MAX_TAG_LENGTH ? tag : undefined;
}

/** Parses a name tag; `live` when the network still carries the ID tag of the publishing Docker network. */
export function parseNameTag(tag: string, networkTags: readonly string[]): { did12: string; name: string; live: boolean } | undefined {
  if (!tag.startsWith(TAG_NAME_PREFIX)) return undefined;
  const rest = tag.slice(TAG_NAME_PREFIX.length);
  const sep = rest.indexOf(':');
  if (sep !== 12) return undefined;
  const did12 = rest.slice(0, 12);
  return { did12, name: rest.slice(13), live: networkTags.some((t) => t.startsWith(TAG_LH_PREFIX + did12)) };
}

export async function syncNetworks(neutron: NeutronApi, docker: DockerEngineApi, opts: SyncOptions): Promise<SyncEntry[]> {
  const out: SyncEntry[] = [];
  const [local, nets] = await Promise.all([docker.listNetworks(), neutron.listNetworks()]);
  const kuryr = local.filter((n) => n.driver === opts.driver);

  // 1. publish
  for (const d of kuryr.filter((n) => n.labels[LABEL_ADOPTED] === undefined)) {
    const net = nets.find((n) => hasIdTags(n.tags, d.id));
    if (net === undefined) continue;
    const tag = nameTag(d.id, d.name);
    if (tag === undefined) {
      out.push({ action: 'skipped', name: d.name, neutronNetworkId: net.id, detail: 'name too long for a Neutron tag' });
      continue;
    }
    if (net.tags.includes(tag)) continue;
    if (!opts.dryRun) await neutron.addTag('networks', net.id, tag);
    net.tags = [...net.tags, tag];
    out.push({ action: 'published', name: d.name, neutronNetworkId: net.id });
  }

  // 2. adopt (and drop stale name tags on the way)
  const live = new Map<string, Network>();
  for (const net of nets) {
    for (const t of net.tags) {
      const parsed = parseNameTag(t, net.tags);
      if (parsed === undefined) continue;
      if (!parsed.live) {
        if (!opts.dryRun) await neutron.removeTag('networks', net.id, t).catch(() => undefined);
        continue;
      }
      if (!live.has(parsed.name)) live.set(parsed.name, net);
    }
  }
  for (const [name, net] of live) {
    const same = local.find((d) => d.name === name);
    if (same !== undefined) {
      const mapped = hasIdTags(net.tags, same.id) || same.labels[LABEL_ADOPTED] === net.id;
      out.push(mapped ? { action: 'present', name, neutronNetworkId: net.id } : { action: 'conflict', name, neutronNetworkId: net.id, detail: `Docker network ${same.id.slice(0, 12)} has this name` });
      continue;
    }
    try {
      const spec = await adoptionSpec(neutron, net, name, opts.driver);
      if (spec === undefined) {
        out.push({ action: 'skipped', name, neutronNetworkId: net.id, detail: 'the Neutron network has no subnet' });
        continue;
      }
      if (!opts.dryRun) await docker.createNetwork(spec);
      out.push({ action: 'adopted', name, neutronNetworkId: net.id });
    } catch (err) {
      out.push({ action: 'failed', name, neutronNetworkId: net.id, detail: errorMessage(err) });
    }
  }

  // 3. prune
  for (const d of kuryr.filter((n) => n.labels[LABEL_ADOPTED] !== undefined)) {
    if (live.get(d.name)?.id === d.labels[LABEL_ADOPTED]) continue;
    try {
      if (!opts.dryRun) await docker.removeNetwork(d.id);
      out.push({ action: 'pruned', name: d.name, neutronNetworkId: d.labels[LABEL_ADOPTED] });
    } catch (err) {
      out.push({ action: 'kept', name: d.name, neutronNetworkId: d.labels[LABEL_ADOPTED], detail: errorMessage(err) });
    }
  }
  return out;
}

/** The `docker network create` of an adopted network: its first IPv4 and IPv6 subnet (kuryr's first). */
async function adoptionSpec(neutron: NeutronApi, net: Network, name: string, driver: string): Promise<DockerNetworkSpec | undefined> {
  const subnets = await neutron.listSubnets({ networkId: net.id });
  const kuryrFirst = (a: Subnet, b: Subnet) => Number(!a.name.startsWith('kuryr-subnet-')) - Number(!b.name.startsWith('kuryr-subnet-'));
  const chosen = [4, 6]
    .map((v) => subnets.filter((s) => s.ipVersion === v).sort(kuryrFirst)[0])
    .filter((s): s is Subnet => s !== undefined);
  if (chosen.length === 0) return undefined;
  return {
    name,
    driver,
    ipamDriver: driver,
    subnets: chosen.map((s) => (s.gatewayIp !== null ? { subnet: s.cidr, gateway: s.gatewayIp } : { subnet: s.cidr })),
    enableIpv6: chosen.some((s) => s.ipVersion === 6),
    neutronNetworkId: net.id,
    shared: net.shared,
    labels: { [LABEL_ADOPTED]: net.id },
  };
}
