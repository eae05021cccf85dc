import {
  bucketOf,
  emptyHistogram,
  LATENCY_BOUNDS_MS,
  LATENCY_BUCKETS,
  mergeInto,
  observe,
  percentile,
} from './latency-histogram';

describe('latency histogram', () => {
  it('puts a latency in the first bucket whose bound holds it, the rest in overflow', () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(1)).toBe(0);
    expect(bucketOf(1.01)).toBe(1);
    expect(bucketOf(10000)).toBe(LATENCY_BOUNDS_MS.length - 1);
    expect(bucketOf(10001)).toBe(LATENCY_BUCKETS - 1);
  });

  it('reports p50 and p95 as bucket upper bounds, and null when empty', () => {
    const h = emptyHistogram();
    expect(percentile(h, 0.5)).toBeNull();
    for (let i = 0; i < 90; i++) observe(h, 4); // bucket <= 5
    for (let i = 0; i < 10; i++) observe(h, 180); // bucket <= 200
    expect(percentile(h, 0.5)).toBe(5);
    expect(percentile(h, 0.9)).toBe(5);
    expect(percentile(h, 0.95)).toBe(200);
    observe(h, 60_000);
    expect(percentile(h, 1)).toBe(10000);
  });

  it('merges exactly: the percentiles of a merge are those of all observations', () => {
    const a = emptyHistogram();
    const b = emptyHistogram();
    const all = emptyHistogram();
    [1, 3, 8, 40, 900].forEach((ms, i) => {
      observe(i % 2 ? a : b, ms);
      observe(all, ms);
    });
    expect(mergeInto(a, b)).toEqual(all);
  });
});
