import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

// The stack scripts trust a pid file only while it names the very process they started. /run outlives a
// reboot on this machine kind and pids repeat from boot to boot, so a stale file names a stranger.
const LIB = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/lib/pidfile.sh');

function bash(script: string): { code: number; out: string } {
  const r = spawnSync('bash', ['-c', `source ${LIB}\n${script}`], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout.trim() };
}

test('a recorded process is live until it exits; then its pid file names nobody', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pidfile-'));
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  const f = join(dir, 'x.pid');
  assert.equal(bash(`pid_record ${f} ${child.pid}`).code, 0);
  assert.deepEqual(bash(`pid_live ${f}`), { code: 0, out: String(child.pid) });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.equal(bash(`pid_live ${f}`).code, 1);
});

test('a pid file from an earlier boot naming a live stranger is not live, and is forgotten', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pidfile-'));
  // pid 1 is alive, but nobody recorded it here (no identity file, as after a reboot)
  writeFileSync(join(dir, 'containerd.pid'), '1\n');
  // an identity from another boot
  writeFileSync(join(dir, 'dockerd.pid'), `${process.pid}\n`);
  writeFileSync(join(dir, 'dockerd.pid.id'), '00000000-0000-0000-0000-000000000000 1\n');
  assert.equal(bash(`pid_live ${join(dir, 'containerd.pid')}`).code, 1);
  assert.equal(bash(`pid_live ${join(dir, 'dockerd.pid')}`).code, 1);
  assert.equal(bash(`pid_forget_stale ${dir}`).code, 0);
  assert.deepEqual(readdirSync(dir), []);
});

test('a thread id is never taken for a process', () => {
  // node runs helper threads: any task of this process other than the main one is a thread
  const tids = readdirSync(`/proc/${process.pid}/task`).filter((t) => t !== String(process.pid));
  assert.ok(tids.length > 0, 'node has helper threads');
  assert.equal(bash(`pid_identity ${tids[0]}`).code, 1);
  assert.equal(bash(`pid_identity ${process.pid}`).code, 0);
  assert.ok(existsSync(`/proc/${tids[0]}/stat`), 'the kernel does answer for the thread id');
});
