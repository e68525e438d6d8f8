/**
 * Bad input for the CNI plugin on the real stack: generated calls of every command (ADD, DEL,
 * CHECK, STATUS, GC, VERSION) through the installed `kuryr-cni` executable (/opt/cni/bin, as
 * scripts/cni-runtimes.sh installs it from this checkout; run as a runtime runs it: a clean environment, the configuration on stdin),
 * talking to our node daemon. Each call mutates one `CNI_*` variable or stdin (missing, malformed,
 * truncated, wrong types, huge, odd unicode, bad names and paths). Every failure must be a CNI error
 * on stdout whose code is not 999 and whose message names the bad variable or key; none may hang.
 * A call that happens to be valid succeeds; a valid ADD (into a real netns) is undone by DEL.
 * Afterwards the daemon still answers, its RSS did not run away, and Neutron, the host's links, OVS
 * and netns hold exactly what they held before.
 *
 * Size: KURYR_FUZZ_COUNT calls per command (default 80, about 2 min in CI); the full size is
 * KURYR_FUZZ_COUNT=10000. KURYR_FUZZ_COMMANDS=ADD,DEL picks commands; KURYR_FUZZ_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { KURYR_CNI } from './support/cni-daemon.js';
import { cniEnv } from './support/cni-env.js';
import { podPorts } from './support/cni-neutron.js';
import { COMMANDS, cniCaseArb, type CniCase, type Command } from './support/fuzz-cni-cases.js';
import { Tally, fuzzCount, fuzzSeed, inParallel, rssMib, samples, snapshotDiff, stackSnapshot } from './support/fuzz.js';
import { sh } from './support/sh.js';

const SHIM = KURYR_CNI;
const PREFIX = 'cni-e2e-fuzz-';
const COUNT = fuzzCount(80);
const SEED = fuzzSeed();
/** KURYR_FUZZ_SECONDS: stop starting new batches after this long, then check and report what was done. */
const BUDGET_S = Number(process.env.KURYR_FUZZ_SECONDS ?? Infinity);
const PICKED = (process.env.KURYR_FUZZ_COMMANDS?.split(',') ?? [...COMMANDS]).filter((c): c is Command => (COMMANDS as readonly string[]).includes(c));
/** Plugin processes at once (containerd runs pod setups in parallel). */
const WIDTH = Number(process.env.KURYR_FUZZ_WIDTH ?? 3);
const RSS_GROWTH_MIB = 96;

interface ShimRun {
  rc: number | null;
  stdout: string;
  stderr: string;
  hung: boolean;
}

/** Runs the plugin with exactly `env` (plus PATH) and `stdin`; kills it after `timeoutMs`. */
function runShim(env: Record<string, string>, stdin: string | Buffer, timeoutMs = 120_000): Promise<ShimRun> {
  return new Promise((resolveRun) => {
    const child = spawn(SHIM, [], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => undefined); // the plugin may exit before reading all of a huge stdin
    child.on('close', (rc) => {
      clearTimeout(timer);
      resolveRun({ rc, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), hung });
    });
    child.stdin.end(stdin);
  });
}

test(`CNI plugin and daemon: generated bad input, ${COUNT} calls per command (${PICKED.join(', ')})`, { timeout: Math.max(30 * 60_000, COUNT * PICKED.length * 2_000) }, async (t) => {
  if (!existsSync(SHIM)) return void t.skip('run bash scripts/cni-runtimes.sh up first');
  const env = await cniEnv(t, PREFIX, 238);
  if (!env) return;
  const { neutron, topo, daemon } = env;
  const socket = daemon.opts.socketPath;
  const before = await stackSnapshot(neutron);
  const tally = new Tally();
  const failures: string[] = [];
  const perCommand = new Map<string, number>();
  let realAdds = 0;
  const started = Date.now();
  const overBudget = (): boolean => Date.now() - started > BUDGET_S * 1000;

  // what each command answers to its valid base call (ADD and CHECK: the netns does not exist)
  const baseCode: Record<Command, number> = { ADD: 8, CHECK: 8, DEL: 0, STATUS: 0, GC: 0, VERSION: 0 };

  const check = async (c: CniCase, index: number): Promise<void> => {
    const nsName = `${PREFIX}${index}-${c.env['CNI_CONTAINERID']?.slice(-8) ?? 'x'}`;
    if (c.netns === 'real') {
      await sh(['ip', 'netns', 'add', nsName]);
      c.env['CNI_NETNS'] = `/var/run/netns/${nsName}`;
    }
    try {
      const r = await runShim(c.env, c.stdin);
      perCommand.set(c.command, (perCommand.get(c.command) ?? 0) + 1);
      const stdinText = Buffer.isBuffer(c.stdin) ? `<${c.stdin.length} bytes>` : c.stdin.slice(0, 160);
      const what = `${c.command} [${c.kind}${c.field ? ` ${c.field}` : ''}] env ${JSON.stringify(c.env).slice(0, 300)} stdin ${stdinText}`;
      if (r.hung) return void failures.push(`${what}: hung (killed after 120 s)`);
      if (r.rc !== 0 && r.rc !== 1) return void failures.push(`${what}: exit ${r.rc}, stderr ${r.stderr.slice(0, 300)}`);
      let out: { code?: unknown; msg?: unknown } = {};
      try {
        out = r.stdout.trim() === '' ? {} : (JSON.parse(r.stdout) as typeof out);
      } catch {
        return void failures.push(`${what}: stdout is not JSON: ${r.stdout.slice(0, 300)}`);
      }
      if (r.rc === 0) {
        tally.add('exit 0');
        if (c.netns === 'real' && c.command === 'ADD') {
          realAdds++;
          const del = await runShim({ ...c.env, CNI_COMMAND: 'DEL' }, c.stdin);
          if (del.rc !== 0) failures.push(`${what}: its DEL failed: ${del.stdout.slice(0, 300)}`);
        }
        return;
      }
      const code = out.code;
      const msg = out.msg;
      tally.add(`code ${String(code)}`);
      if (typeof code !== 'number' || typeof msg !== 'string' || msg === '') return void failures.push(`${what}: not a CNI error: ${r.stdout.slice(0, 300)}`);
      if (code === 999) return void failures.push(`${what}: internal error 999: ${msg.slice(0, 300)}`);
      if (c.netns === 'real') return void failures.push(`${what}: a valid ADD failed: ${code} ${msg.slice(0, 300)}`);
      const sameAsBase = code === baseCode[c.command] && (code !== 8 || msg.includes('CNI_NETNS'));
      if (sameAsBase || !c.field) {
        if (!sameAsBase) tally.add('error without a named mutation', `${code} ${msg} ← ${what}`);
        return;
      }
      const names = c.field === 'stdin' ? /stdin|network configuration|cniVersion|"name"/.test(msg) : msg.includes(c.field) || (c.field === 'CNI_COMMAND' && code === 4);
      if (!names) {
        tally.add('error not naming the field', `${code} ${msg} ← ${what}`);
        failures.push(`${what}: code ${code} does not name ${c.field}: ${msg.slice(0, 300)}`);
      }
    } finally {
      if (c.netns === 'real') await sh(['ip', 'netns', 'del', nsName]);
    }
  };

  const pid = daemon.pid!;
  await inParallel(Array.from({ length: 30 }, (_, i) => i), WIDTH, async () => {
    const r = await daemon.call('DEL', { CNI_CONTAINERID: 'fuzzwarmup', CNI_NETNS: '', CNI_IFNAME: 'eth0' }, daemon.conflist(`${PREFIX}net`, '1.0.0'));
    assert.equal(r.rc, 0, JSON.stringify(r.out));
  });
  const rssStart = rssMib(pid);
  let rssPeak = rssStart;
  // commands take turns batch by batch, so that a time-boxed run covers each of them alike
  const BATCH = 100;
  for (let done = 0; done < COUNT && !overBudget(); done += BATCH) {
    for (const [ci, command] of PICKED.entries()) {
      // GC works on its own network name: a GC never races the valid ADDs of another command
      const network = command === 'GC' ? `${PREFIX}gc` : `${PREFIX}net`;
      const cases = samples(cniCaseArb(command, network, socket), Math.min(BATCH, COUNT - done), SEED + ci * 1_000_003 + done);
      await inParallel(cases, WIDTH, (c, i) => check(c, done + i));
      rssPeak = Math.max(rssPeak, rssMib(pid));
      assert.ok(failures.length < 50, `too many failures, first ones:\n${failures.slice(0, 20).join('\n')}`);
    }
    // progress for long runs: a run cut short still tells what it did
    if ((done / BATCH) % 10 === 9) console.log(`# CNI fuzz: ${done + BATCH} per command in ${Math.round((Date.now() - started) / 1000)} s, ${failures.length} failures so far, RSS ${rssMib(pid).toFixed(1)} MiB`);
  }

  // alive: a STATUS and a harmless DEL through the plugin still succeed
  const status = await daemon.call('STATUS', {}, daemon.conflist(`${PREFIX}net`, '1.1.0'));
  assert.equal(status.rc, 0, JSON.stringify(status.out));
  const rssEnd = rssMib(pid);
  const seconds = Math.round((Date.now() - started) / 1000);
  const total = [...perCommand.values()].reduce((a, b) => a + b, 0);
  console.log(`# CNI fuzz: seed ${SEED}, ${total} plugin runs (${[...perCommand].map(([k, v]) => `${k} ${v}`).join(', ')}) in ${seconds} s, ${realAdds} valid ADD+DEL; ${tally.render()}`);
  console.log(`# CNI fuzz: daemon RSS ${rssStart.toFixed(1)} MiB after warm-up, peak ${rssPeak.toFixed(1)}, end ${rssEnd.toFixed(1)}`);
  for (const [k, ex] of tally.examples) console.log(`# ${k}: ${ex.join(' | ')}`);
  // nothing created, nothing removed (checked before any other verdict)
  const diff = snapshotDiff(before, await stackSnapshot(neutron));
  console.log(`# CNI fuzz: stack after the run: ${diff.added.length} added, ${diff.removed.length} removed`);
  assert.deepEqual(diff, { added: [], removed: [] });
  assert.deepEqual((await podPorts(neutron, topo.podNetId)).map((p) => `${p.name} ${p.id}`), [], 'no pod port left');
  assert.deepEqual(failures, []);
  assert.ok(rssEnd - rssStart < RSS_GROWTH_MIB, `RSS grew from ${rssStart.toFixed(1)} to ${rssEnd.toFixed(1)} MiB`);
  if (!overBudget()) for (const c of PICKED) assert.ok((perCommand.get(c) ?? 0) >= COUNT, `${c}: ${perCommand.get(c) ?? 0} runs of ${COUNT}`);

});
