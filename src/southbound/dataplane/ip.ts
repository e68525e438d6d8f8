import { BindingError } from '../../common/errors.js';
import type { Exec } from './exec.js';

/** Where iproute2 keeps named network namespaces. */
export const NETNS_RUN_DIR = '/var/run/netns';

/** A netns path as CNI hands it over; a bare name means `ip netns add NAME`'s bind mount. */
export function netnsFile(pathOrName: string): string {
  return pathOrName.includes('/') ? pathOrName : `${NETNS_RUN_DIR}/${pathOrName}`;
}

/** Tokens that survive `ip -batch` word splitting unchanged (no blanks, quotes, comments or escapes). */
const TOKEN_RE = /^[^\s"'#\\]+$/;

/** One `ip -batch` line from tokens; refuses a token that the batch parser would split or mangle. */
export function ipLine(...tokens: Array<string | number>): string {
  for (const t of tokens) {
    if (!TOKEN_RE.test(String(t))) throw new BindingError(`refusing unsafe ip argument ${JSON.stringify(String(t))}`);
  }
  return tokens.join(' ');
}

/** The argv of `ip -batch -`, under `nsenter --net=<file>` when a netns is given. */
export function ipBatchArgv(netns?: string, force = false): string[] {
  const ip = force ? ['ip', '-force', '-batch', '-'] : ['ip', '-batch', '-'];
  return netns ? ['nsenter', `--net=${netnsFile(netns)}`, ...ip] : ip;
}

/**
 * Runs `lines` as one `ip -batch -` (one process for many writes). On failure the message names
 * the batch line that failed, which `ip` only gives as `Command failed -:N`.
 */
export async function ipBatch(exec: Exec, lines: string[], netns?: string): Promise<void> {
  if (lines.length === 0) return;
  try {
    await exec(ipBatchArgv(netns), { input: `${lines.join('\n')}\n` });
  } catch (err) {
    const m = err instanceof Error ? /Command failed -:(\d+)/.exec(err.message) : null;
    const line = m ? lines[Number(m[1]) - 1] : undefined;
    if (err instanceof BindingError && line !== undefined) {
      throw new BindingError(`ip command "${line}" failed${netns ? ` in netns ${netns}` : ''}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/** One link as `ip -json link show` reports it (the fields we use). */
export interface IpLink {
  ifname: string;
  /** Peer name of a veth whose peer is in the same netns. */
  link?: string;
  link_netnsid?: number;
  ifalias?: string;
  master?: string;
  mtu?: number;
  address?: string;
  flags?: string[];
  linkinfo?: { info_kind?: string };
}

/** All links of the host netns (`ip -json -d link show [type T]`), one process. */
export async function listLinks(exec: Exec, type?: string): Promise<IpLink[]> {
  const argv = ['ip', '-json', '-d', 'link', 'show'];
  if (type) argv.push('type', type);
  const { stdout } = await exec(argv);
  if (stdout.trim() === '') return [];
  try {
    return JSON.parse(stdout) as IpLink[];
  } catch (err) {
    throw new BindingError(`failed to parse ip -json link output: ${stdout.slice(0, 200)}`, { cause: err });
  }
}

/**
 * Deletes host-netns links by name; a missing link is success. One `ip -force -batch` process;
 * only when it reports errors, one listing checks that none of the names is still there.
 */
export async function deleteLinks(exec: Exec, names: string[], pre: string[] = []): Promise<void> {
  if (names.length === 0) return;
  const lines = [...pre, ...names.map((n) => ipLine('link', 'del', 'dev', n))];
  const { stderr } = await exec(ipBatchArgv(undefined, true), { input: `${lines.join('\n')}\n`, okCodes: [0, 1] });
  if (stderr.trim() === '') return;
  const present = new Set((await listLinks(exec)).map((l) => l.ifname));
  const left = names.filter((n) => present.has(n));
  if (left.length > 0) {
    throw new BindingError(`failed to delete ${left.join(', ')}: ${stderr.trim().slice(0, 500)}`);
  }
}

/**
 * Runs the batch that creates a port's devices; if it fails (same-named devices from an earlier or
 * half-done plug), removes them with `remove` and runs it once more.
 */
export async function createOrRecreate(exec: Exec, lines: string[], remove: () => Promise<void>, onRetry: (err: unknown) => void): Promise<void> {
  try {
    await ipBatch(exec, lines);
  } catch (err) {
    onRetry(err);
    await remove();
    await ipBatch(exec, lines);
  }
}
