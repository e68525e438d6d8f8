/**
 * Serializes work per key (a Docker network or endpoint ID, a pod UID) while
 * different keys run in parallel. Entries are dropped once their queue drains.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Runs `fn` holding every key, acquired in sorted order so two callers cannot deadlock. */
  async runAll<T>(keys: string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const step = (i: number): Promise<T> =>
      i === sorted.length ? fn() : this.run(sorted[i] as string, () => step(i + 1));
    return step(0);
  }

  /** True while some work holds or waits for `key` (the garbage collector leaves such things alone). */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  /** True while some key starting with `prefix` is held or waited for (a key known only by its start). */
  busyPrefix(prefix: string): boolean {
    for (const key of this.tails.keys()) if (key.startsWith(prefix)) return true;
    return false;
  }

  get size(): number {
    return this.tails.size;
  }
}
