/**
 * A fixed-bucket latency histogram: mergeable by adding counts element-wise, so rollups from many
 * flushes and many processes combine exactly. Percentiles are reported as the upper bound of the
 * bucket that holds the rank: an over-estimate by at most one bucket's width.
 */
export const LATENCY_BOUNDS_MS = [
  1, 2, 3, 5, 7.5, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000,
  5000, 10000,
] as const;

/** One count per bound, plus the overflow bucket (above the last bound). */
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length + 1;

export function emptyHistogram(): number[] {
  return new Array<number>(LATENCY_BUCKETS).fill(0);
}

export function bucketOf(ms: number): number {
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) if (ms <= LATENCY_BOUNDS_MS[i]) return i;
  return LATENCY_BOUNDS_MS.length;
}

export function observe(histogram: number[], ms: number): void {
  histogram[bucketOf(ms)]++;
}

/** Adds b into a (same length). */
export function mergeInto(a: number[], b: readonly number[]): number[] {
  for (let i = 0; i < a.length; i++) a[i] += b[i] ?? 0;
  return a;
}

/**
 * The q-quantile (0 < q <= 1) as a bucket's upper bound in ms; null for an empty histogram. The
 * overflow bucket reports the last bound (the histogram cannot say how far above it).
 */
export function percentile(histogram: readonly number[], q: number): number | null {
  const total = histogram.reduce((s, n) => s + n, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i];
    if (seen >= rank) return LATENCY_BOUNDS_MS[Math.min(i, LATENCY_BOUNDS_MS.length - 1)];
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1];
}
