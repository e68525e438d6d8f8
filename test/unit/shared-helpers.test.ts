/**
 * The helpers each side of core uses from one place: promise helpers (settle, started, withDeadline),
 * the idempotent delete and the tag length limit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NeutronError, TimeoutError } from '../../src/common/errors.js';
import { settle, started, withDeadline } from '../../src/common/promises.js';
import { deleteIgnoringMissing } from '../../src/core/shared/neutron-deletes.js';
import { MAX_TAG_LENGTH, fitTag } from '../../src/core/shared/tag-limit.js';

test('settle waits for every step before throwing the first failure', async () => {
  const done: string[] = [];
  const slow = new Promise<void>((r) => setTimeout(() => { done.push('slow'); r(); }, 20));
  const failing = Promise.reject(new Error('first'));
  const later = new Promise<void>((_, rej) => setTimeout(() => rej(new Error('second')), 5));
  await assert.rejects(settle(failing, slow, later), /first/);
  assert.deepEqual(done, ['slow']);
  await settle(Promise.resolve(1), Promise.resolve(2));
});

test('started runs at once and reports its error only when awaited', async () => {
  let ran = false;
  const get = started((async () => { ran = true; throw new Error('late'); })());
  assert.equal(ran, true);
  await new Promise((r) => setImmediate(r)); // no unhandled rejection in between
  await assert.rejects(get(), /late/);
  assert.equal(await started(Promise.resolve(7))(), 7);
});

test('withDeadline answers with the work, or with the deadline error', async () => {
  assert.equal(await withDeadline(Promise.resolve('ok'), 1_000, () => new TimeoutError('late')), 'ok');
  const never = new Promise<string>(() => undefined);
  await assert.rejects(withDeadline(never, 10, () => new TimeoutError('no answer within 10 ms')), (e: unknown) => e instanceof TimeoutError && e.message === 'no answer within 10 ms');
  await assert.rejects(withDeadline(Promise.reject(new Error('own')), 1_000, () => new TimeoutError('late')), /own/);
  // No deadline: the promise itself.
  const p = Promise.resolve(1);
  assert.equal(withDeadline(p, 0, () => new TimeoutError('x')), p);
});

test('deleteIgnoringMissing: a 404 is success, anything else is thrown', async () => {
  let calls = 0;
  await deleteIgnoringMissing(async () => { calls++; });
  await deleteIgnoringMissing(async () => { calls++; throw new NeutronError('gone', { status: 404 }); });
  assert.equal(calls, 2);
  await assert.rejects(deleteIgnoringMissing(async () => { throw new NeutronError('conflict', { status: 409 }); }), /conflict/);
  await assert.rejects(deleteIgnoringMissing(async () => { throw new Error('down'); }), /down/);
});

test('fitTag cuts to Neutron\'s 60 characters and leaves shorter tags alone', () => {
  assert.equal(MAX_TAG_LENGTH, 60);
  assert.equal(fitTag('kuryr.cni.node:' + 'n'.repeat(100)).length, 60);
  assert.equal(fitTag('short'), 'short');
});
