/**
 * Shared pieces of the bad-input suites (fuzz-docker, fuzz-cni): generated bad values, a raw HTTP
 * client over a unix socket that can send what no well-behaved client would (wrong content types,
 * truncated bodies, garbage request lines), a snapshot of everything the stack holds (Neutron
 * resources, host links, OVS ports of ours, netns) to prove nothing was created or removed, and RSS.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { NeutronClient } from '../../../src/southbound/openstack/neutron.js';
import { kuryrOvsInterfaces } from './host.js';
import { sh } from './sh.js';

/** Generated requests per route / command; `KURYR_FUZZ_COUNT=10000` is the full size. */
export function fuzzCount(ciDefault: number): number {
  const n = Number(process.env.KURYR_FUZZ_COUNT ?? ciDefault);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : ciDefault;
}

/** The seed of this run (printed, so that a failure can be replayed with KURYR_FUZZ_SEED). */
export function fuzzSeed(): number {
  const s = Number(process.env.KURYR_FUZZ_SEED ?? Date.now() % 2 ** 31);
  return Number.isFinite(s) ? s : 1;
}

/** `n` values of `arb`, reproducible from `seed`. */
export function samples<T>(arb: fc.Arbitrary<T>, n: number, seed: number): T[] {
  return n > 0 ? fc.sample(arb, { numRuns: n, seed }) : [];
}

const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
/** A well-formed Docker ID (64 lowercase hex), new every time: never one the stack knows. */
export const dockerIdArb = hex(64);
/** A well-formed lowercase UUID that names nothing. */
export const uuidArb = fc.uuid({ version: 4 });

/** Strings that break parsers: sizes around limits, odd unicode, control characters, near-miss formats. */
export const ODD_STRINGS: readonly string[] = [
  '', ' ', '\t', '\n', '\0', 'a\0b', '\ud800', '\udfff', '\u202e', '\u200b', '\ufeff', 'é', 'ǅ', '🙂'.repeat(40),
  'ﬃ', 'İ', '١٠.٠.٠.٠/٢٤', '１０.０.０.０/２４', '${x}', '$HOME', '%s%n', '../../etc/passwd', '\\', '"', "'", '{}', '[]', 'null',
  'true', '0', '-1', 'NaN', '1e999', '__proto__', 'constructor', 'toString', 'a'.repeat(63), 'a'.repeat(65), 'A'.repeat(64),
  'f'.repeat(64).replace(/f$/, 'g'), 'x'.repeat(4096), 'x'.repeat(4097), 'x'.repeat(100_000),
];
/** Near-miss IDs: wrong length, case, alphabet; UUIDs without dashes or in braces. */
export const BAD_IDS: readonly string[] = [
  'abc', '0'.repeat(63), '0'.repeat(65), 'F'.repeat(64), `${'0'.repeat(63)} `, ` ${'0'.repeat(63)}`, 'zq3kx0m1n2b3v4c5x6z7l8k9J', 'zq3kx0m1n2b3v4c5x6z7l8k9',
  '7064673A-9778-4F6F-A324-E4E6598C6881', '7064673a97784f6fa324e4e6598c6881', '{7064673a-9778-4f6f-a324-e4e6598c6881}', '7064673a-9778-4f6f-a324-e4e6598c688',
  '7064673a-9778-4f6f-a324-e4e6598c6881\n', '00000000-0000-0000-0000-000000000000-0',
];
/** CIDRs that are not, or are at the edge of being, CIDRs. */
export const BAD_CIDRS: readonly string[] = [
  '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/', '/24', '10.0.0/24', '10.0.0.256/24', '010.0.0.0/24', '10.0.0.0/024', '10.0.0.0/8/8',
  '::/129', '2001:db8::/64 ', ' 10.0.0.0/24', '10.0.0.0/24\n', 'fe80::1%eth0/64', '10.0.0.0/+8', '10.0.0.0/0x18', '10.0.0.0 /24',
  '0.0.0.0/0', '255.255.255.255/32', '10.0.0.1/24', '::/0', '::ffff:10.0.0.0/120', '224.0.0.0/4', '127.0.0.0/8', '169.254.0.0/16',
  '2001:db8::1/64', 'ff02::/16', '10.0.0.0/31', '10.0.0.0/32', '::1/128',
];
export const BAD_MACS: readonly string[] = [
  '02:42:ac:11:00', '02-42-ac-11-00-02', '02:42:ac:11:00:02:03', 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', '00:00:00:00:00:00',
  '0242.ac11.0002', '02:42:ac:11:00:0g', '2:42:ac:11:0:2', '02:42:AC:11:00:02 ',
];
export const BAD_IPS: readonly string[] = [
  '10.0.0.256', '10.0.0', '::g', '10.0.0.1/24', '1.2.3.4 ', '0x0a.0.0.1', '10.1', '::ffff:10.0.0.1', '0.0.0.0', '255.255.255.255',
  '::', '::1', 'fe80::1%eth0', '1.2.3.4.5', '-1.2.3.4',
];

/** A bad string of any kind; with `near`, a near miss of that format is preferred. */
export function badString(near: readonly string[] = []): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...ODD_STRINGS) },
    { weight: near.length ? 4 : 0, arbitrary: near.length ? fc.constantFrom(...near) : fc.constant('') },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  );
}

/** A JSON value of another type than a string: numbers at the edges, booleans, null, containers. */
export const wrongTypeArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<unknown>(0, -1, 1.5, 2 ** 53 + 1, 1e308, -0, true, false, null, [], {}, [''], { a: 1 }, [[[]]]) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** Deep nesting written as text (JSON.stringify of a deep value would overflow the stack of the sender). */
export function deepJson(depth: number, open = '[', close = ']'): string {
  return `${open.repeat(depth)}${close.repeat(depth)}`;
}

// ---------------------------------------------------------------- raw HTTP over a unix socket

export interface RawRequest {
  path: string;
  body: string | Buffer;
  /** Extra header lines (name: value), sent after Host/Content-Length. */
  headers?: Record<string, string>;
  method?: string;
  /** Send only this many body bytes (with the full Content-Length), then close: a truncated upload. */
  truncateAt?: number;
  /** Send these bytes instead of a well-formed request (garbage request line, broken chunking...). */
  raw?: Buffer;
}

export interface RawReply {
  /** 0 when the server closed the connection without an answer (expected for a truncated upload). */
  status: number;
  text: string;
}

/**
 * One request on a fresh connection; resolves with the answer or `status 0` when the server closed
 * without one; rejects only when nothing happened within `timeoutMs` (a hang).
 */
export function rawCall(socketPath: string, req: RawRequest, timeoutMs = 60_000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (fn: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      fn();
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`no answer within ${timeoutMs} ms (hang)`))), timeoutMs);
    const tryParse = (): void => {
      const buf = Buffer.concat(chunks);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      if (req.method === 'HEAD') return finish(() => resolve({ status, text: '' })); // a HEAD answer has no body
      const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? -1);
      const body = buf.subarray(end + 4);
      if (len >= 0 && body.length >= len) finish(() => resolve({ status, text: body.subarray(0, len).toString('utf8') }));
    };
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      tryParse();
    });
    s.on('error', () => undefined); // a reset after a truncated upload is an answer of its own: see 'close'
    s.on('close', () => {
      const buf = Buffer.concat(chunks);
      if (buf.length === 0) return finish(() => resolve({ status: 0, text: '' }));
      const end = buf.indexOf('\r\n\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(buf.toString('latin1'))?.[1] ?? 0);
      finish(() => resolve({ status, text: end < 0 ? '' : buf.subarray(end + 4).toString('utf8') }));
    });
    s.once('connect', () => {
      if (req.raw) return void s.end(req.raw);
      const payload = typeof req.body === 'string' ? Buffer.from(req.body) : req.body;
      const extra = Object.entries(req.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      const head = `${req.method ?? 'POST'} ${req.path} HTTP/1.1\r\nHost: \r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: ${payload.length}\r\n${extra}\r\n`;
      if (req.truncateAt !== undefined) {
        s.write(Buffer.concat([Buffer.from(head), payload.subarray(0, req.truncateAt)]));
        setTimeout(() => s.end(), 5);
      } else {
        s.write(Buffer.concat([Buffer.from(head), payload]));
      }
    });
  });
}

/** Runs `fn` over `items` with at most `width` in flight; rejects on the first rejection. */
export async function inParallel<T>(items: readonly T[], width: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

// ---------------------------------------------------------------- what the stack holds

/** Resident set size of a process in MiB (VmRSS). */
export function rssMib(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** Every Neutron resource id by kind, every host link, every OVS interface of ours, every named netns. */
export type StackSnapshot = Record<string, Set<string>>;

export async function stackSnapshot(neutron: NeutronClient): Promise<StackSnapshot> {
  const [nets, subnets, pools, ports, sgs] = await Promise.all([
    neutron.listNetworks({}), neutron.listSubnets({}), neutron.listSubnetPools({}), neutron.listPorts({}), neutron.listSecurityGroups({}),
  ]);
  const links = (await sh(['ip', '-o', 'link', 'show'])).stdout.split('\n').map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1]).filter((x): x is string => !!x);
  const netns = (await sh(['ip', 'netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
  return {
    network: new Set(nets.map((n) => `${n.id} ${n.name}`)),
    subnet: new Set(subnets.map((s) => `${s.id} ${s.cidr} ${s.name}`)),
    subnetpool: new Set(pools.map((p) => `${p.id} ${p.name}`)),
    // ids and names only: another agent updating a port's attributes is neither a leak nor a removal
    port: new Set(ports.map((p) => `${p.id} ${p.name}`)),
    'security group': new Set(sgs.map((g) => `${g.id} ${g.name}`)),
    link: new Set(links),
    'ovs port': new Set(await kuryrOvsInterfaces()),
    netns: new Set(netns),
  };
}

/** What appeared and what disappeared between two snapshots, one line per item. */
export function snapshotDiff(before: StackSnapshot, after: StackSnapshot): { added: string[]; removed: string[] } {
  const added: string[] = [];
  const removed: string[] = [];
  for (const kind of Object.keys(before)) {
    for (const x of after[kind] ?? []) if (!before[kind]!.has(x)) added.push(`${kind} ${x}`);
    for (const x of before[kind]!) if (!after[kind]?.has(x)) removed.push(`${kind} ${x}`);
  }
  return { added, removed };
}

/** Tallies for the closing summary: count per key, plus a few examples of each finding. */
export class Tally {
  readonly counts = new Map<string, number>();
  readonly examples = new Map<string, string[]>();
  add(key: string, example?: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (example !== undefined) {
      const list = this.examples.get(key) ?? [];
      if (list.length < 3) list.push(example.slice(0, 400));
      this.examples.set(key, list);
    }
  }
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  render(): string {
    return [...this.counts].sort().map(([k, v]) => `${k}: ${v}`).join(', ');
  }
}
