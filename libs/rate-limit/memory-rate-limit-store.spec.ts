import { MemoryRateLimitStore, type Decision, type WindowRule } from './index';
import {
  fixedWindowAdmissions,
  gcraAdmissions,
  maxInAnyWindow,
  randomArrivals,
  randomRules,
  ReferenceLimiter,
  type ReferenceDecision,
  seededRandom,
} from './window-checker.testing';

const SEEDS = Array.from({ length: 200 }, (_, i) => 0x5eed + i);

function summarize(decision: Decision): ReferenceDecision {
  return {
    allowed: decision.allowed,
    remaining: decision.rules.map((r) => r.remaining),
    resetMs: decision.rules.map((r) => r.resetMs),
    retryAfterMs: decision.retryAfterMs,
  };
}

describe('the brute-force checker', () => {
  const rule: WindowRule = { limit: 10, windowMs: 1000 };
  const boundary = [
    ...Array.from({ length: 10 }, () => 990),
    ...Array.from({ length: 10 }, () => 1010),
  ];

  it('catches a fixed window letting 2 x limit through across a boundary', () => {
    expect(maxInAnyWindow(fixedWindowAdmissions(boundary, rule), 1000)).toBe(20);
  });

  it('catches GCRA with burst = limit letting 2 x limit - 1 through in one window', () => {
    // The burst at 0, then one more every windowMs / limit: at 100, 200, ..., 900.
    const arrivals = [
      ...Array.from({ length: 10 }, () => 0),
      100,
      200,
      300,
      400,
      500,
      600,
      700,
      800,
      900,
    ];
    const admitted = gcraAdmissions(arrivals, rule);
    expect(admitted).toHaveLength(19);
    expect(maxInAnyWindow(admitted, 1000)).toBe(19);
  });

  it('finds GCRA over the limit on random arrivals too, so the exactness test below has teeth', () => {
    let worst = 0;
    for (const seed of SEEDS.slice(0, 50)) {
      const arrivals = randomArrivals(seededRandom(seed), 400, rule.windowMs);
      worst = Math.max(worst, maxInAnyWindow(gcraAdmissions(arrivals, rule), rule.windowMs));
    }
    expect(worst).toBeGreaterThan(rule.limit);
  });
});

describe('MemoryRateLimitStore', () => {
  it('never admits more than the limit in any window, for every rule, over randomized arrivals', () => {
    const violations: unknown[] = [];
    for (const seed of SEEDS) {
      const random = seededRandom(seed);
      const rules = randomRules(random);
      const shortest = Math.min(...rules.map((r) => r.windowMs));
      const store = new MemoryRateLimitStore();
      const admitted: number[] = [];
      for (const t of randomArrivals(random, 300, shortest)) {
        if (store.consumeSync('k', rules, t).allowed) admitted.push(t);
      }
      for (const rule of rules) {
        const max = maxInAnyWindow(admitted, rule.windowMs);
        if (max > rule.limit) violations.push({ seed, rule, max });
      }
    }
    expect(violations).toEqual([]);
  });

  it('decides exactly as the brute-force sliding log, remaining, reset and retry-after included', () => {
    for (const seed of SEEDS) {
      const random = seededRandom(seed);
      const rules = randomRules(random);
      const shortest = Math.min(...rules.map((r) => r.windowMs));
      const store = new MemoryRateLimitStore();
      const reference = new ReferenceLimiter();
      for (const t of randomArrivals(random, 300, shortest)) {
        const got = JSON.stringify(summarize(store.consumeSync('k', rules, t)));
        const want = JSON.stringify(reference.decide(t, rules));
        // One expect per seed, at the first difference: a deep equality per step would be the slow part.
        if (got !== want) {
          expect({ seed, t, got }).toEqual({ seed, t, got: want });
          break;
        }
      }
    }
  });

  it('refuses a second burst just across a fixed-window boundary', () => {
    const store = new MemoryRateLimitStore();
    const rules = [{ limit: 10, windowMs: 1000 }];
    for (let i = 0; i < 10; i++) expect(store.consumeSync('k', rules, 990).allowed).toBe(true);
    for (let i = 0; i < 10; i++) expect(store.consumeSync('k', rules, 1010).allowed).toBe(false);
    // The burst at 990 leaves the window (989, 1989] at 1990.
    expect(store.consumeSync('k', rules, 1989).allowed).toBe(false);
    expect(store.consumeSync('k', rules, 1990).allowed).toBe(true);
  });

  it('reports remaining, reset and retry-after', () => {
    const store = new MemoryRateLimitStore();
    const rules = [
      { limit: 3, windowMs: 1000 },
      { limit: 5, windowMs: 60_000 },
    ];
    const first = store.consumeSync('k', rules, 10_000);
    expect(first).toEqual({
      allowed: true,
      retryAfterMs: 0,
      rules: [
        { rule: rules[0], remaining: 2, resetMs: 1000 },
        // The minute's quantum is 60 ms: the admission is recorded at 10,020.
        { rule: rules[1], remaining: 4, resetMs: 60_020 },
      ],
    });
    store.consumeSync('k', rules, 10_100);
    store.consumeSync('k', rules, 10_200);
    const refused = store.consumeSync('k', rules, 10_300);
    expect(refused.allowed).toBe(false);
    expect(refused.rules.map((r) => [r.remaining, r.resetMs])).toEqual([
      [0, 700],
      [2, 59_720],
    ]);
    expect(refused.retryAfterMs).toBe(700);
    expect(store.consumeSync('k', rules, 11_000).allowed).toBe(true);
  });

  it('waits for every rule: retry-after is the longest of the refusing rules', () => {
    const store = new MemoryRateLimitStore();
    const rules = [
      { limit: 2, windowMs: 1000 },
      { limit: 2, windowMs: 1500 },
    ];
    store.consumeSync('k', rules, 0);
    store.consumeSync('k', rules, 400);
    const refused = store.consumeSync('k', rules, 500);
    expect(refused.retryAfterMs).toBe(1000);
    expect(store.consumeSync('k', rules, 500 + 999).allowed).toBe(false);
    expect(store.consumeSync('k', rules, 500 + 1000).allowed).toBe(true);
  });

  it('does not consume any rule when one refuses', () => {
    const store = new MemoryRateLimitStore();
    const perSecond = { limit: 100, windowMs: 1000 };
    const perMinute = { limit: 3, windowMs: 60_000 };
    for (let i = 0; i < 3; i++) store.consumeSync('k', [perSecond, perMinute], 0);
    const refused = store.consumeSync('k', [perSecond, perMinute], 1);
    expect(refused.allowed).toBe(false);
    expect(refused.rules[0].remaining).toBe(97);
    expect(store.consumeSync('k', [perSecond], 2).rules[0].remaining).toBe(96);
  });

  it('honours a lowered limit only once enough old admissions have expired', () => {
    const store = new MemoryRateLimitStore();
    for (let t = 0; t < 5; t++) store.consumeSync('k', [{ limit: 5, windowMs: 1000 }], t * 100);
    const refused = store.consumeSync('k', [{ limit: 2, windowMs: 1000 }], 450);
    // Admissions at 0..400: one more fits under 2 once four have left the window, the fourth at 1300.
    expect(refused.retryAfterMs).toBe(1300 - 450);
    expect(refused.rules[0].remaining).toBe(0);
  });

  it('keeps its clock monotonic per key', () => {
    const store = new MemoryRateLimitStore();
    const rules = [{ limit: 1, windowMs: 1000 }];
    expect(store.consumeSync('k', rules, 5000).allowed).toBe(true);
    // A clock stepping back must not reopen the window.
    expect(store.consumeSync('k', rules, 4500).allowed).toBe(false);
    expect(store.consumeSync('k', rules, 5999).allowed).toBe(false);
    expect(store.consumeSync('k', rules, 6000).allowed).toBe(true);
  });

  it('counts a shared bucket across rule sets and keeps other buckets apart, under one key', () => {
    const store = new MemoryRateLimitStore();
    const tenant = { limit: 3, windowMs: 1000, bucket: 0 };
    const search = [tenant, { limit: 2, windowMs: 1000, bucket: 1 }];
    const write = [tenant, { limit: 2, windowMs: 1000, bucket: 2 }];
    expect(store.consumeSync('t', search, 0).allowed).toBe(true);
    expect(store.consumeSync('t', search, 1).allowed).toBe(true);
    // The search bucket is full; its refusal takes nothing from the tenant bucket.
    expect(store.consumeSync('t', search, 2)).toMatchObject({ allowed: false, retryAfterMs: 998 });
    const w = store.consumeSync('t', write, 3);
    expect(w.allowed).toBe(true);
    expect(w.rules.map((r) => r.remaining)).toEqual([0, 1]);
    // Now the tenant bucket is full, which refuses writes although their own bucket has room.
    expect(store.consumeSync('t', write, 4)).toMatchObject({ allowed: false, retryAfterMs: 996 });
  });

  it('keeps keys apart', async () => {
    const store = new MemoryRateLimitStore();
    const rules = [{ limit: 1, windowMs: 1000 }];
    expect((await store.consume('tenant-a', rules, 0)).allowed).toBe(true);
    expect((await store.consume('tenant-b', rules, 0)).allowed).toBe(true);
    expect((await store.consume('tenant-a', rules, 1)).allowed).toBe(false);
  });

  it('holds at most maxKeys keys, dropping the least recently used', () => {
    const store = new MemoryRateLimitStore({ maxKeys: 100 });
    const rules = [{ limit: 1, windowMs: 60_000 }];
    store.consumeSync('hot', rules, 0);
    for (let i = 0; i < 1000; i++) {
      store.consumeSync(`k${i}`, rules, i);
      if (i % 10 === 0) store.consumeSync('hot', rules, i);
      expect(store.size).toBeLessThanOrEqual(100);
    }
    // 'hot' stayed in use, so it was never dropped and its admission at 0 still counts.
    expect(store.consumeSync('hot', rules, 2000).allowed).toBe(false);
  });

  it('rejects invalid rules through the promise too', async () => {
    await expect(new MemoryRateLimitStore().consume('k', [])).rejects.toThrow(RangeError);
  });

  it('rejects rules it cannot honour', () => {
    const store = new MemoryRateLimitStore();
    expect(() => store.consumeSync('k', [])).toThrow(RangeError);
    expect(() => store.consumeSync('k', [{ limit: 0, windowMs: 1000 }])).toThrow(RangeError);
    expect(() => store.consumeSync('k', [{ limit: 1, windowMs: 0.5 }])).toThrow(RangeError);
    expect(() =>
      store.consumeSync('k', [
        { limit: 1, windowMs: 1000 },
        { limit: 2, windowMs: 1000 },
      ]),
    ).toThrow(RangeError);
    expect(() =>
      store.consumeSync('k', [
        { limit: 1, windowMs: 1000, bucket: 3 },
        { limit: 2, windowMs: 1000, bucket: 3 },
      ]),
    ).toThrow(RangeError);
    expect(() => store.consumeSync('k', [{ limit: 1, windowMs: 1000, bucket: 1000 }])).toThrow(
      RangeError,
    );
    expect(() => store.consumeSync('k', [{ limit: 1, windowMs: 1_000_000_000 }])).toThrow(
      RangeError,
    );
    expect(() => new MemoryRateLimitStore({ maxKeys: 0 })).toThrow(RangeError);
  });
});
