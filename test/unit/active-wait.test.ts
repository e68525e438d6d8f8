/**
 * The one ACTIVE wait both sides use (Docker CreateEndpoint and pod ADD): fast first polls backing
 * off to 300 ms, never coarse 1 s ticks, and a timeout that names the host whose agent should bind.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TimeoutError } from '../../src/common/errors.js';
import { type ActiveWaitDeps, waitForPortActive } from '../../src/core/shared/active-wait.js';
import type { Port } from '../../src/core/shared/neutron-types.js';

describe('ACTIVE wait', () => {
  /** Deps whose clock advances only by the sleeps; the port turns ACTIVE after `afterGets` reads. */
  function clockCtx(afterGets: number, activeTimeoutMs: number) {
    let t = 0;
    let gets = 0;
    const sleeps: number[] = [];
    const deps: ActiveWaitDeps = {
      now: () => t,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        t += ms;
      },
      neutron: { getPort: async () => ({ status: ++gets >= afterGets ? 'ACTIVE' : 'DOWN' }) as Port },
    };
    return { deps, opts: { timeoutMs: activeTimeoutMs, hostId: 'host-1' }, sleeps, gets: () => gets };
  }

  test('polls at once, then from 50 ms growing to 300 ms', async () => {
    const c = clockCtx(9, 10_000);
    await waitForPortActive(c.deps, 'p', c.opts);
    assert.deepEqual(c.sleeps, [50, 75, 113, 170, 255, 300, 300, 300]);
    assert.equal(c.gets(), 9);
  });

  test('keeps activeTimeoutMs: TimeoutError once the deadline has passed, last sleep cut to it', async () => {
    const c = clockCtx(Number.POSITIVE_INFINITY, 1000);
    await assert.rejects(waitForPortActive(c.deps, 'p', c.opts), (e: unknown) => e instanceof TimeoutError && e.message.includes('1000 ms') && e.message.includes('L2 agent on host-1'));
    assert.equal(c.sleeps.reduce((a, b) => a + b, 0), 1000);
  });
});
