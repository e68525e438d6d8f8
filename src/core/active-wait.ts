/**
 * Waits for a plugged port to become ACTIVE. The port usually turns ACTIVE 1-1.5 s after the plug,
 * so polling starts fast (50 ms) and backs off to 300 ms; `GET /ports/{id}` is cheap (~30 ms).
 */
import { TimeoutError } from '../common/errors.js';
import type { CoreContext } from './service-context.js';

export const ACTIVE_POLL_FIRST_MS = 50;
export const ACTIVE_POLL_MAX_MS = 300;

/** Polls `getPort` (at once, then 50 ms growing ×1.5 to 300 ms) until ACTIVE; `TimeoutError` after `activeTimeoutMs`. */
export async function waitForPortActive(ctx: CoreContext, portId: string): Promise<void> {
  const deadline = ctx.now() + ctx.options.activeTimeoutMs;
  let interval = ACTIVE_POLL_FIRST_MS;
  let status = '';
  for (;;) {
    status = (await ctx.neutron.getPort(portId)).status;
    if (status === 'ACTIVE') return;
    const left = deadline - ctx.now();
    if (left <= 0) break;
    await ctx.sleep(Math.min(interval, left));
    interval = Math.min(ACTIVE_POLL_MAX_MS, Math.round(interval * 1.5));
  }
  throw new TimeoutError(`Neutron port ${portId} did not become ACTIVE within ${ctx.options.activeTimeoutMs} ms (status ${status})`);
}
