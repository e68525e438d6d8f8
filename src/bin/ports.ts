/**
 * `kuryr ports [--json] [--docker-host URL]`: the Neutron ports Kuryr bound to this host (`[DEFAULT] host`),
 * one line each: container or pod, network, IPs, Neutron status, and whether the host device is plugged.
 * Docker endpoints are matched to running containers through the Docker API when it answers.
 */
import { existsSync } from 'node:fs';
import { createLogger } from '../common/log.js';
import { readConfig, type ConfigSelection } from '../compose/config.js';
import { openStackFromConfig } from '../compose/openstack.js';
import type { Port } from '../core/shared/neutron-types.js';
import { hostIfName, hybridNames } from '../core/shared/device-names.js';
import { DockerEngineClient, socketPathOf } from '../southbound/docker-engine/client.js';
import type { ParsedValues } from './cli.js';

export interface PortRow {
  kind: 'pod' | 'container';
  /** `namespace/name` of a pod, the container name (or `endpoint <id>` when Docker does not know it). */
  owner: string;
  /** Pod: the runtime's container id; container: the Docker endpoint id. */
  attachment: string;
  port: string;
  network: string;
  ips: string[];
  status: string;
  plugged: boolean;
}

const tagValue = (tags: readonly string[], prefix: string) => tags.find((t) => t.startsWith(prefix))?.slice(prefix.length);

function isKuryrPort(p: Port): boolean {
  return p.deviceOwner === 'compute:kuryr' || p.tags.some((t) => t.startsWith('kuryr.cni.') || t === 'kuryr.port.existing');
}

/** A host end named after the port exists: the plain veth (`tap…`) or the hybrid plug's OVS end (`qvo…`). */
function plugged(portId: string): boolean {
  return existsSync(`/sys/class/net/${hostIfName(portId)}`) || existsSync(`/sys/class/net/${hybridNames(portId).qvo}`);
}

export function portRow(p: Port, networkName: string | undefined, containers: ReadonlyMap<string, string>): PortRow {
  const podName = tagValue(p.tags, 'kuryr.pod.name:');
  const common = {
    port: p.id,
    network: networkName ? `${networkName} (${p.networkId})` : p.networkId,
    ips: p.fixedIps.map((f) => f.ipAddress),
    status: p.status,
    plugged: plugged(p.id),
  };
  if (podName !== undefined || p.tags.some((t) => t.startsWith('kuryr.cni.node:'))) {
    const ns = tagValue(p.tags, 'kuryr.pod.ns:');
    return { kind: 'pod', owner: ns ? `${ns}/${podName ?? p.name}` : (podName ?? p.name), attachment: tagValue(p.tags, 'kuryr.cni.cid:') ?? p.deviceId, ...common };
  }
  return { kind: 'container', owner: containers.get(p.deviceId) ?? `endpoint ${p.deviceId.slice(0, 12)}`, attachment: p.deviceId, ...common };
}

export async function hostPorts(selection: ConfigSelection, dockerHost: string): Promise<{ host: string; ports: PortRow[]; dockerError?: string }> {
  const config = readConfig(selection);
  const openstack = openStackFromConfig(config, createLogger({ level: process.env.KURYR_LOG_LEVEL ?? 'silent' }));
  try {
    const host = config.DEFAULT.host;
    const [ports, containers] = await Promise.all([
      openstack.neutron.listPorts({ hostId: host }).then((all) => all.filter(isKuryrPort)),
      new DockerEngineClient(socketPathOf(dockerHost), 5_000).endpointContainers().catch((err: Error) => err),
    ]);
    const netIds = [...new Set(ports.map((p) => p.networkId))];
    const names = new Map((await Promise.all(netIds.map((id) => openstack.neutron.getNetwork(id).catch(() => undefined))))
      .filter((n) => n !== undefined).map((n) => [n.id, n.name]));
    const byEndpoint = containers instanceof Error ? new Map<string, string>() : containers;
    const rows = ports.map((p) => portRow(p, names.get(p.networkId), byEndpoint)).sort((a, b) => a.kind.localeCompare(b.kind) || a.owner.localeCompare(b.owner));
    return { host, ports: rows, ...(containers instanceof Error ? { dockerError: containers.message } : {}) };
  } finally {
    await openstack.close();
  }
}

export function formatPorts(rows: readonly PortRow[]): string {
  const table = [['KIND', 'OWNER', 'NETWORK', 'IPS', 'STATUS', 'PLUGGED', 'PORT'], ...rows.map((r) => [
    r.kind, r.owner, r.network, r.ips.join(',') || '-', r.status, r.plugged ? 'yes' : 'NO', r.port,
  ])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return `${table.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n')}\n`;
}

export async function portsCommand(values: ParsedValues, selection: ConfigSelection): Promise<void> {
  const dockerHost = (values['docker-host'] as string | undefined) ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  const { host, ports, dockerError } = await hostPorts(selection, dockerHost);
  if (values['json']) return void process.stdout.write(`${JSON.stringify({ host, ports, ...(dockerError ? { dockerError } : {}) }, null, 2)}\n`);
  process.stdout.write(ports.length > 0 ? formatPorts(ports) : `no Kuryr ports bound to ${host}\n`);
  if (dockerError) process.stderr.write(`note: container names unknown (Docker API: ${dockerError})\n`);
}
