/**
 * Promise helpers with no domain: wait for every step before failing, start now and await later,
 * and bound a wait.
 */

/** Waits for every step (so no rollback starts while one still runs), then throws the first failure. */
export async function settle(...steps: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(steps);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

/**
 * Starts a promise now and returns a getter that awaits it later, so several look-ups run
 * concurrently while their errors are still reported in the caller's order (no unhandled rejection).
 */
export function started<T>(p: Promise<T>): () => Promise<T> {
  const outcome = p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  return async () => {
    const r = await outcome;
    if (!r.ok) throw r.error;
    return r.value;
  };
}

/**
 * `p`, or the error `onTimeout` makes once `ms` have passed (the work itself is not cancelled).
 * `ms <= 0` means no deadline.
 */
export function withDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  if (ms <= 0) return p;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
