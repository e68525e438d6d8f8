/**
 * Port-pool helpers for e2e and bench: our daemon under its own plugin name (`kuryrpool`), so
 * dockerd asks its capabilities afresh (it keeps a plugin's first answer, and with pools the IPAM
 * driver no longer asks Docker for a MAC), and the pool's state in Neutron and the parking netns.
 */
import { request } from 'node:http';
import { hostname } from 'node:os';
import type { NeutronApi } from '../../../src/core/shared/neutron-api.js';
import type { Port } from '../../../src/core/shared/neutron-types.js';
import { parkingNetnsName, poolTag } from '../../../src/core/port-pool/pool-tags.js';
import type { DaemonOptions } from './kuryr-daemon.js';
import { sh } from './sh.js';

export const POOL_DRIVER = 'kuryrpool';
export const POOL_TAG = poolTag('docker', hostname());
export const PARKING_NETNS = parkingNetnsName('docker', hostname());

export function poolDaemon(sizing: { min: number; max: number; batch: number; everyS?: number }): DaemonOptions {
  return {
    socketPath: `/run/docker/plugins/${POOL_DRIVER}.sock`,
    extraConfig: [
      '[vif_pool]',
      'enabled = True',
      `ports_pool_min = ${sizing.min}`,
      `ports_pool_max = ${sizing.max}`,
      `ports_pool_batch = ${sizing.batch}`,
      `ports_pool_update_frequency = ${sizing.everyS ?? 2}`,
    ].join('\n'),
  };
}

/** This host's free Docker pool ports of a network. */
export function poolPorts(neutron: NeutronApi, networkId: string): Promise<Port[]> {
  return neutron.listPorts({ networkId, tags: [POOL_TAG] });
}

/** Link names in the parking namespace. */
export async function parkedLinks(): Promise<string[]> {
  const r = await sh(['ip', '-n', PARKING_NETNS, '-o', 'link', 'show']);
  if (r.code !== 0) return [];
  return r.stdout.split('\n').map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1] ?? '').filter((n) => n.startsWith('t_c'));
}

/** Ready ports of a network's pool as the daemon sees them (`Kuryr.PoolShow` on its socket, as `kuryr pool show`). */
export function daemonReady(socketPath: string, networkId: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/Kuryr.PoolShow', method: 'POST' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          const { Pools } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Pools: Array<{ networkId: string; ready: number }> };
          resolve(Pools.filter((p) => p.networkId === networkId).reduce((n, p) => n + p.ready, 0));
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
    req.on('error', reject);
    req.end('{}');
  });
}
