import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BindingError, TimeoutError } from '../../src/common/errors.js';
import { formatArgv, run } from '../../src/southbound/dataplane/exec.js';

test('run passes argv without a shell and feeds stdin', async () => {
  const r = await run(['cat'], { input: 'a; rm -rf / $(x)\n' });
  assert.equal(r.stdout, 'a; rm -rf / $(x)\n');
  const e = await run(['echo', '$HOME', '*']);
  assert.equal(e.stdout, '$HOME *\n');
});

test('a non-zero exit is a BindingError with command and stderr', async () => {
  await assert.rejects(run(['sh', '-c', 'echo boom >&2; exit 3']), (err: unknown) => {
    assert.ok(err instanceof BindingError);
    assert.match(err.message, /exit 3/);
    assert.match(err.message, /boom/);
    assert.match(err.message, /sh -c/);
    return true;
  });
});

test('okCodes accepts listed exit codes', async () => {
  const r = await run(['sh', '-c', 'echo x >&2; exit 1'], { okCodes: [0, 1] });
  assert.equal(r.stderr, 'x\n');
});

test('stderr quoted in errors is bounded', async () => {
  await assert.rejects(run(['sh', '-c', 'head -c 100000 /dev/zero | tr "\\0" e >&2; exit 1']), (err: unknown) => {
    assert.ok(err instanceof BindingError);
    assert.ok(err.message.length < 1_300, String(err.message.length));
    return true;
  });
});

test('a missing program is a BindingError', async () => {
  await assert.rejects(run(['/nonexistent/kt-prog']), BindingError);
});

test('a timeout kills the child and throws TimeoutError', async () => {
  const t0 = Date.now();
  await assert.rejects(run(['sleep', '5'], { timeoutMs: 100 }), TimeoutError);
  assert.ok(Date.now() - t0 < 2_000);
});

test('formatArgv quotes only what needs it', () => {
  assert.equal(formatArgv(['ip', '-batch', '-', 'a b']), 'ip -batch - "a b"');
});
