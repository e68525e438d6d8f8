/** Small statistics for the benchmark report. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (values: number[]): number => percentile(values, 50);

export async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export function row(label: string, ours: number[], base: number[], unit = 'ms'): string {
  const f = (v: number) => v.toFixed(0).padStart(7);
  const ratio = median(ours) / median(base);
  return `${label.padEnd(34)} kuryr median ${f(median(ours))} ${unit} p90 ${f(percentile(ours, 90))} ${unit} | baseline median ${f(median(base))} ${unit} p90 ${f(percentile(base, 90))} ${unit} | ratio ${ratio.toFixed(2)}x`;
}
