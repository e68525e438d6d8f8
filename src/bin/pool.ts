/**
 * `kuryr pool show|fill|drain [--cni] [--network NEUTRON_NET_ID] [--count N] [--socket PATH] [--config-file F]...`:
 * the running Docker driver's port pools (as kuryr-kubernetes' pool manager did), through its plugin
 * socket (`[DEFAULT] socket_path`), or with `--cni` the CNI daemon's pod pools (`[cni_daemon]
 * socket_path`); `--socket` overrides either.
 */
import { request } from 'node:http';
import { readConfig, type ConfigSelection } from '../compose/config.js';
import type { PoolStats } from '../core/port-pool/pool-model.js';
import { UsageError, type ParsedValues } from './cli.js';

export async function pool(sub: 'show' | 'fill' | 'drain', values: ParsedValues, selection: ConfigSelection): Promise<void> {
  const config = readConfig(selection);
  const socket = (values['socket'] as string | undefined) ?? (values['cni'] === true ? config.cni_daemon.socket_path : config.DEFAULT.socket_path);
  if (sub === 'show') {
    const { Pools } = (await call(socket, 'Kuryr.PoolShow', {})) as { Pools: PoolStats[] };
    process.stdout.write('network\tready\tpreparing\tin-use\tstate\n');
    for (const p of Pools) process.stdout.write(`${p.networkId}\t${p.ready}\t${p.preparing}\t${p.inUse}\t${p.closed ? 'drained' : 'open'}\n`);
    return;
  }
  const network = values['network'] as string | undefined;
  if (network === undefined) throw new UsageError(`kuryr pool ${sub} needs --network NEUTRON_NETWORK_ID`);
  if (sub === 'fill') {
    const count = Number((values['count'] as string | undefined) ?? '10');
    if (!Number.isInteger(count) || count < 1) throw new UsageError(`--count must be a whole number >= 1, got ${String(values['count'])}`);
    // Filling waits for Neutron (about 2 s a port): the pool's level goes to stderr every 2 s meanwhile.
    const progress = setInterval(() => {
      void call(socket, 'Kuryr.PoolShow', {}).then(
        (r) => {
          const p = (r as { Pools: PoolStats[] }).Pools.find((x) => x.networkId === network);
          if (p !== undefined) process.stderr.write(`kuryr pool fill: ${p.ready} ready, ${p.preparing} on their way\n`);
        },
        () => undefined,
      );
    }, 2_000);
    try {
      const { Ready } = (await call(socket, 'Kuryr.PoolFill', { NetworkID: network, Count: count })) as { Ready: number };
      process.stdout.write(`${Ready} ports ready\n`);
    } finally {
      clearInterval(progress);
    }
    return;
  }
  if (sub === 'drain') {
    const { Deleted } = (await call(socket, 'Kuryr.PoolDrain', { NetworkID: network })) as { Deleted: number };
    process.stdout.write(`${Deleted} ports deleted\n`);
    return;
  }
  throw new Error(`unknown pool command ${sub}; use show, fill or drain`);
}

function call(socketPath: string, method: string, body: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: `/${method}`, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
        // The Docker daemon answers `{Err}`, the CNI daemon a CNI error `{code, msg}`.
        const reply = parsed as { Err?: string; msg?: string } | undefined;
        const err = reply?.Err ?? reply?.msg;
        if ((res.statusCode ?? 500) >= 400 || err) reject(new Error(`${method}: ${err ?? text}`));
        else resolve(parsed);
      });
    });
    req.on('error', (e) => reject(new Error(`cannot reach the kuryr daemon at ${socketPath}: ${e.message}`)));
    req.end(JSON.stringify(body));
  });
}
