/**
 * The two simulated hosts of scripts/multihost.sh: host A (root netns, OVS agent, host id
 * `hostname`) and host B (netns aio-lb, linuxbridge agent, `hostname`-lb), each with its own
 * dockerd and a Kuryr daemon started here with its socket in that host's plugin dir.
 */
import { hostname } from 'node:os';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NeutronClient } from '../../../src/southbound/openstack/neutron.js';
import { idTags } from '../../../src/core/docker/tags.js';
import { DockerCli } from './docker.js';
import { kuryrHostLeftovers } from './host.js';
import { KuryrDaemon } from './kuryr-daemon.js';
import { must, sh, waitFor } from './sh.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const LB_NETNS = 'aio-lb';

export interface SimHost {
  name: 'a' | 'b';
  dockerHost: string;
  docker: DockerCli;
  socketPath: string;
  hostId: string;
  netns?: string;
}

const host = (name: 'a' | 'b', hostId: string, netns?: string): SimHost => ({
  name,
  dockerHost: `unix:///run/aio/mh-${name}/docker.sock`,
  docker: new DockerCli(`unix:///run/aio/mh-${name}/docker.sock`),
  socketPath: `/run/aio/mh-${name}/plugins/kuryr.sock`,
  hostId,
  ...(netns !== undefined ? { netns } : {}),
});

export const HOST_A = host('a', hostname());
export const HOST_B = host('b', `${hostname()}-lb`, LB_NETNS);

/** A Kuryr daemon for a simulated host (not started). */
export function kuryrFor(h: SimHost, scope: 'local' | 'global' = 'local'): KuryrDaemon {
  return new KuryrDaemon({
    socketPath: h.socketPath,
    hostId: h.hostId,
    ...(h.netns !== undefined ? { netns: h.netns } : {}),
    // its own dockerd: the garbage collector judges networks by what this dockerd knows
    extraConfig: `[DEFAULT]\ncapability_scope = ${scope}\ndocker_host = ${h.dockerHost}\n`,
    // host A shares the main job's host id; the main job's collector would take host A's networks
    // (unknown to the default dockerd) for leftovers, so it does not run meanwhile
    stopsMainJob: true,
  });
}

export function multihost(cmd: 'up' | 'restart-docker' | 'status'): Promise<string> {
  return must(['bash', `${ROOT}/scripts/multihost.sh`, cmd], { timeoutMs: 600_000 });
}

/** `kuryr network sync` against a host's dockerd with that host's daemon config. */
export function networkSync(h: SimHost, confPath: string): Promise<string> {
  return must([process.execPath, '--import', 'tsx', `${ROOT}/src/bin/kuryr.ts`, 'network', 'sync', '--docker-host', h.dockerHost, '--config-file', confPath], { timeoutMs: 120_000 });
}

/** `docker run -d` of a sleeping busybox on a network; returns its address and endpoint. */
export async function runOn(h: SimHost, name: string, net: string): Promise<{ ip: string; endpointId: string }> {
  await h.docker.must(['run', '-d', '--name', name, '--net', net, 'busybox', 'sleep', '3600']);
  const c = await h.docker.containerInspect(name);
  const n = c.NetworkSettings.Networks[net]!;
  return { ip: n.IPAddress, endpointId: n.EndpointID };
}

/** One ping from a container; true when answered. */
export async function ping(h: SimHost, container: string, ip: string): Promise<boolean> {
  return (await h.docker.run(['exec', container, 'ping', '-c', '1', '-W', '1', ip], 30_000)).code === 0;
}

/** Polls until pings from `container` to `ip` succeed (or, with `reachable=false`, fail); returns the ms it took. */
export async function waitPing(h: SimHost, container: string, ip: string, reachable = true, timeoutMs = 30_000): Promise<number> {
  const t0 = Date.now();
  await waitFor(`${container} ${reachable ? 'reaches' : 'no longer reaches'} ${ip}`, async () => (await ping(h, container, ip)) === reachable, timeoutMs, 100);
  return Date.now() - t0;
}

/** The Neutron port of a Docker endpoint (device_id = endpoint ID). */
export async function portIdOf(neutron: NeutronClient, endpointId: string): Promise<string> {
  const ports = await neutron.listPorts({ deviceId: endpointId });
  if (ports[0] === undefined) throw new Error(`no Neutron port for endpoint ${endpointId}`);
  return ports[0].id;
}

export interface Ours {
  portIds: string[];
  dockerNetworkIds: string[];
  cidrs: string[];
}

/** What of ours is still there after a scenario: Neutron ports, tagged networks, kuryr pools, host devices. */
export async function leftovers(neutron: NeutronClient, ours: Ours): Promise<string[]> {
  const left: string[] = [];
  for (const id of ours.portIds) if ((await neutron.listPorts({ id })).length > 0) left.push(`port ${id}`);
  for (const did of ours.dockerNetworkIds) {
    for (const n of await neutron.listNetworks({ tagsAny: idTags(did) })) left.push(`network ${n.id} tagged for ${did.slice(0, 12)}`);
  }
  for (const cidr of ours.cidrs) {
    for (const p of await neutron.listSubnetPools({ name: `kuryrPool-${cidr}` })) left.push(`subnetpool ${p.name}`);
    for (const s of await neutron.listSubnets({ cidr })) if (s.name.startsWith('kuryr-subnet-')) left.push(`subnet ${s.name} ${s.id}`);
  }
  left.push(...(await kuryrHostLeftovers(ours.portIds)), ...(await kuryrHostLeftovers(ours.portIds, LB_NETNS)).map((l) => `${LB_NETNS}: ${l}`));
  return left;
}

/** Best-effort removal of containers and networks named `prefix*` on both hosts. */
export async function cleanHosts(prefix: string): Promise<void> {
  await Promise.all([HOST_A.docker.removeAll(prefix), HOST_B.docker.removeAll(prefix)]);
}

export { sh };
