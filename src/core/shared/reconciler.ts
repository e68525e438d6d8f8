/**
 * Runs a daemon's garbage collector (the Docker driver's, the CNI daemon's) once at start-up and then
 * every `intervalMs`, never two rounds at once; `stop()` waits for a running round so shutdown does
 * not cut a removal in half.
 */
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { GcFinding } from './gc.js';

export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly round: () => Promise<GcFinding[]>,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.intervalMs <= 0) return;
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }

  private tick(): void {
    if (this.stopped) return;
    this.current = this.runOnce().finally(() => {
      this.current = undefined;
      if (!this.stopped) this.timer = setTimeout(() => this.tick(), this.intervalMs).unref();
    });
  }

  private async runOnce(): Promise<void> {
    try {
      const findings = await this.round();
      const acted = findings.filter((f) => f.outcome !== 'skipped');
      if (acted.length > 0) this.log.info({ removed: acted.filter((f) => f.outcome === 'removed').length, failed: acted.filter((f) => f.outcome === 'failed').length }, 'gc round done');
      for (const f of findings.filter((x) => x.outcome === 'skipped')) this.log.debug({ kind: f.kind, id: f.id, why: f.why }, 'gc skipped');
    } catch (err) {
      // dockerd or Neutron unreachable: nothing can be judged this round
      this.log.warn({ err: errorMessage(err) }, 'gc round failed; retrying next round');
    }
  }
}
