/**
 * Waits for a plugged port to become ACTIVE, for Docker endpoints and pods alike. The port usually
 * turns ACTIVE 1-1.5 s after the plug, so polling starts fast (50 ms) and backs off to 300 ms
 * instead of ticking every second; `GET /ports/{id}` is cheap (~30 ms).
 */
import { TimeoutError } from '../../common/errors.js';
import { noteIds } from '../../common/request-context.js';
import { telemetry } from '../../common/telemetry.js';
import type { NeutronApi } from './neutron-api.js';

export const ACTIVE_POLL_FIRST_MS = 50;
export const ACTIVE_POLL_MAX_MS = 300;

export interface ActiveWaitDeps {
  neutron: Pick<NeutronApi, 'getPort'>;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

/**
 * Polls `getPort` (at once, then 50 ms growing ×1.5 to 300 ms) until ACTIVE; `TimeoutError` after
 * `timeoutMs`, naming the host whose L2 agent should have bound it.
 */
export async function waitForPortActive(deps: ActiveWaitDeps, portId: string, opts: { timeoutMs: number; hostId: string }): Promise<void> {
  noteIds({ port: portId });
  const started = deps.now();
  const seconds = () => (deps.now() - started) / 1000;
  const deadline = started + opts.timeoutMs;
  let interval = ACTIVE_POLL_FIRST_MS;
  let status = '';
  try {
    for (;;) {
      status = (await deps.neutron.getPort(portId)).status;
      if (status === 'ACTIVE') return void telemetry().activeWait(seconds(), 'active');
      const left = deadline - deps.now();
      if (left <= 0) break;
      await deps.sleep(Math.min(interval, left));
      interval = Math.min(ACTIVE_POLL_MAX_MS, Math.round(interval * 1.5));
    }
  } catch (err) {
    telemetry().activeWait(seconds(), 'error');
    throw err;
  }
  telemetry().activeWait(seconds(), 'timeout');
  throw new TimeoutError(
    `Neutron port ${portId} did not become ACTIVE within ${opts.timeoutMs} ms (status ${status}); is the L2 agent on ${opts.hostId} running?`,
  );
}
