/**
 * mulberry32: a tiny seeded PRNG with uniform output in [0, 1). Not for secrets; for reproducible
 * test data, fuzz inputs and benchmark data sets, so a failure or a number can be reproduced.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
