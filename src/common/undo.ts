import { telemetry } from './telemetry.js';

/**
 * Compensating actions for a multi-step create: push an undo after each step that
 * succeeded, `commit()` at the end; on failure `rollback()` runs them newest first.
 * Undo failures are collected, never thrown over the original error.
 */
export class UndoStack {
  private readonly steps: Array<{ what: string; undo: () => Promise<unknown> }> = [];

  push(what: string, undo: () => Promise<unknown>): void {
    this.steps.push({ what, undo });
  }

  commit(): void {
    this.steps.length = 0;
  }

  /** Runs every undo, newest first; returns the descriptions of those that failed. */
  async rollback(): Promise<string[]> {
    const failed: string[] = [];
    const counted = this.steps.length > 0;
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.undo();
      } catch (err) {
        failed.push(`${step.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (counted) telemetry().rollback(failed.length);
    return failed;
  }

  /** Runs `fn(undo)`; on a throw rolls back and rethrows the original error. */
  static async guard<T>(fn: (undo: UndoStack) => Promise<T>, onRollbackFailure?: (failed: string[]) => void): Promise<T> {
    const undo = new UndoStack();
    try {
      const result = await fn(undo);
      undo.commit();
      return result;
    } catch (err) {
      const failed = await undo.rollback();
      if (failed.length > 0) onRollbackFailure?.(failed);
      throw err;
    }
  }
}
