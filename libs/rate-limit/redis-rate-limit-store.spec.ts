/*
 * Against the real local Redis (REDIS_URL, default redis://127.0.0.1:6379). The Redis is shared: every
 * key this file writes starts with a prefix unique to the run, and afterAll deletes them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import {
  RateLimitTimeoutError,
  RedisRateLimitStore,
  type Decision,
  type WindowRule,
} from './index';
import { frozenRedisClient } from '../../test/support/private-redis';
import {
  maxInAnyWindow,
  randomArrivals,
  randomRules,
  ReferenceLimiter,
  seededRandom,
  type ReferenceDecision,
} from './window-checker.testing';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `rl-test:${process.pid}:${Date.now()}:`;

let redis: Redis;
let others: Redis[];
let store: RedisRateLimitStore;
let keyCounter = 0;

/** A key no other test touches. */
const freshKey = (label: string): string => `${label}:${++keyCounter}`;

function summarize(decision: Decision): ReferenceDecision {
  return {
    allowed: decision.allowed,
    remaining: decision.rules.map((r) => r.remaining),
    resetMs: decision.rules.map((r) => r.resetMs),
    retryAfterMs: decision.retryAfterMs,
  };
}

/** Redis's clock, which the store decides on. */
async function redisNow(): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  others = Array.from({ length: 3 }, () => new Redis(REDIS_URL));
  store = new RedisRateLimitStore(redis, { prefix: PREFIX });
});

afterAll(async () => {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await Promise.all([redis, ...others].map((client) => client.quit()));
});

describe('RedisRateLimitStore', () => {
  it('admits exactly the limit from 2,000 concurrent calls over 4 connections', async () => {
    const key = freshKey('concurrent');
    // 100 per 10 s rather than per 1 s: the 2,000 calls take ~0.3 s, but on a loaded CI box they could
    // straddle a 1 s window and then rightly admit more than 100.
    const rules = [{ limit: 100, windowMs: 10_000 }];
    const stores = [redis, ...others].map((c) => new RedisRateLimitStore(c, { prefix: PREFIX }));
    const started = Date.now();
    const decisions = await Promise.all(
      Array.from({ length: 2000 }, (_, i) => stores[i % 4].consume(key, rules)),
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(decisions.filter((d) => d.allowed)).toHaveLength(100);
    const refused = decisions.filter((d) => !d.allowed);
    // Up to a quantum (10 ms for 10 s) past the window: the record time is rounded up to it.
    expect(refused.every((d) => d.retryAfterMs > 0 && d.retryAfterMs < 10_010)).toBe(true);
  });

  it('refuses a second burst just across a fixed-window boundary (real time, 200 ms window)', async () => {
    const key = freshKey('boundary');
    const rules = [{ limit: 5, windowMs: 200 }];
    const burst = () => Promise.all(Array.from({ length: 5 }, () => store.consume(key, rules)));
    // Start 25 ms before a 200 ms boundary of Redis's clock, where a fixed window would reset.
    const phase = (await redisNow()) % 200;
    await sleep((175 - phase + 200) % 200 || 200);

    expect((await burst()).map((d) => d.allowed)).toEqual([true, true, true, true, true]);
    await sleep(40);
    const second = await burst();
    expect(second.map((d) => d.allowed)).toEqual([false, false, false, false, false]);
    const wait = Math.max(...second.map((d) => d.retryAfterMs));
    expect(wait).toBeGreaterThan(100);
    expect(wait).toBeLessThanOrEqual(200);

    await sleep(wait + 5);
    expect((await burst()).map((d) => d.allowed)).toEqual([true, true, true, true, true]);
  });

  it('counts down remaining and reports reset and retry-after on Redis time', async () => {
    const key = freshKey('values');
    const rules = [{ limit: 3, windowMs: 500 }];
    const first = await store.consume(key, rules);
    expect(first).toEqual({
      allowed: true,
      retryAfterMs: 0,
      rules: [{ rule: rules[0], remaining: 2, resetMs: 500 }],
    });
    expect((await store.consume(key, rules)).rules[0].remaining).toBe(1);
    const last = await store.consume(key, rules);
    expect(last.rules[0].remaining).toBe(0);
    // The slot that frees next is the first admission's, a few ms ago at most.
    expect(last.rules[0].resetMs).toBeGreaterThan(400);
    expect(last.rules[0].resetMs).toBeLessThanOrEqual(500);

    const refused = await store.consume(key, rules);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBe(refused.rules[0].resetMs);
    await sleep(refused.retryAfterMs + 2);
    expect((await store.consume(key, rules)).allowed).toBe(true);
  });

  it('checks and consumes all windows atomically: a refused request consumes none', async () => {
    const key = freshKey('multi');
    const perSecond = { limit: 100, windowMs: 1000, name: '1s' };
    const perMinute = { limit: 3, windowMs: 60_000, name: '1m' };
    for (let i = 0; i < 3; i++)
      expect((await store.consume(key, [perSecond, perMinute])).allowed).toBe(true);
    const refused = await store.consume(key, [perSecond, perMinute]);
    expect(refused.allowed).toBe(false);
    expect(refused.rules.map((r) => r.remaining)).toEqual([97, 0]);
    expect(refused.retryAfterMs).toBe(refused.rules[1].resetMs);
    // The refusal took nothing from the per-second rule.
    expect((await store.consume(key, [perSecond])).rules[0].remaining).toBe(96);

    // And the other way round: refused by the second does not spend the minute.
    const key2 = freshKey('multi');
    const tight = { limit: 1, windowMs: 1000 };
    const roomy = { limit: 10, windowMs: 60_000 };
    await store.consume(key2, [tight, roomy]);
    expect((await store.consume(key2, [tight, roomy])).rules.map((r) => r.remaining)).toEqual([
      0, 9,
    ]);
  });

  it('expires idle keys: every key gets a TTL, and they are gone once the window has passed', async () => {
    const key = freshKey('ttl');
    const rules = [
      { limit: 5, windowMs: 100 },
      { limit: 5, windowMs: 150 },
    ];
    const keys = store.redisKeys(key, rules);
    // Admissions in different milliseconds, so that runs are closed onto the lists too.
    for (let i = 0; i < 3; i++) {
      await store.consume(key, rules);
      await sleep(3);
    }
    expect(await redis.exists(...keys)).toBe(3);
    const ttls = await Promise.all(keys.map((k) => redis.pttl(k)));
    expect(ttls.every((ttl) => ttl > 0 && ttl <= 151)).toBe(true);
    await sleep(200);
    expect(await redis.exists(...keys)).toBe(0);
  });

  it('keeps all keys of one limiter key in one Redis Cluster slot, whatever the key holds', () => {
    // The hash tag, per the Cluster spec: from the first '{' to the next '}', if not empty.
    const tagOf = (k: string): string => {
      const open = k.indexOf('{');
      const close = open < 0 ? -1 : k.indexOf('}', open + 1);
      return close > open + 1 ? k.slice(open + 1, close) : k;
    };
    const rules = [
      { limit: 1, windowMs: 1000 },
      { limit: 1, windowMs: 60_000 },
    ];
    for (const key of ['tenant:42', 'a}b', '}', '{x}', 'c{d}e:%7D']) {
      const tags = new Set(store.redisKeys(key, rules, { id: '}{sig', ttlMs: 1 }).map(tagOf));
      expect(tags.size).toBe(1);
    }
    const tag = (key: string) => tagOf(store.redisKeys(key, rules)[0]);
    // Distinct keys keep distinct tags even when one spells the other's escape.
    expect(tag('a}b')).not.toBe(tag('a%7Db'));
    expect(() => store.redisKeys('', rules)).toThrow(RangeError);
    expect(() => new RedisRateLimitStore(redis, { prefix: 'x{' })).toThrow(RangeError);
  });

  describe('once-only ids (a signed request: replay check and limit in one call)', () => {
    const rules: WindowRule[] = [{ limit: 3, windowMs: 60_000 }];

    it('claims an id with the decision, and answers "seen" for it again without counting', async () => {
      const key = freshKey('once');
      const first = await store.consumeOnce(key, rules, { id: 'sig-a', ttlMs: 5000 });
      expect(first).not.toBe('seen');
      expect((first as Decision).rules[0].remaining).toBe(2);
      expect(await store.consumeOnce(key, rules, { id: 'sig-a', ttlMs: 5000 })).toBe('seen');
      // The replay counted nothing: the next new id finds one slot taken, not two.
      const next = (await store.consumeOnce(key, rules, { id: 'sig-b', ttlMs: 5000 })) as Decision;
      expect(next.rules[0].remaining).toBe(1);
      const [, , onceKey] = store.redisKeys(key, rules, { id: 'sig-a', ttlMs: 5000 });
      const ttl = await redis.pttl(onceKey);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(5000);
    });

    it('shares the id with claimOnce, in both directions', async () => {
      const key = freshKey('once-shared');
      expect(await store.claimOnce(key, { id: 'x', ttlMs: 5000 })).toBe('first');
      expect(await store.consumeOnce(key, rules, { id: 'x', ttlMs: 5000 })).toBe('seen');
      expect(await store.consumeOnce(key, rules, { id: 'y', ttlMs: 5000 })).not.toBe('seen');
      expect(await store.claimOnce(key, { id: 'y', ttlMs: 5000 })).toBe('seen');
      // Ids are per limiter key: another key has never seen them.
      expect(await store.claimOnce(freshKey('once-other'), { id: 'x', ttlMs: 5000 })).toBe('first');
    });

    it('claims the id even when the limit refuses the request (a re-sent request must be re-signed)', async () => {
      const key = freshKey('once-refused');
      const one: WindowRule[] = [{ limit: 1, windowMs: 60_000 }];
      expect(
        ((await store.consumeOnce(key, one, { id: 'a', ttlMs: 5000 })) as Decision).allowed,
      ).toBe(true);
      const refused = await store.consumeOnce(key, one, { id: 'b', ttlMs: 5000 });
      expect(refused).not.toBe('seen');
      expect((refused as Decision).allowed).toBe(false);
      expect(await store.claimOnce(key, { id: 'b', ttlMs: 5000 })).toBe('seen');
    });

    it('refuses an empty id and a TTL that is not a positive integer', async () => {
      const key = freshKey('once-bad');
      await expect(store.consumeOnce(key, rules, { id: '', ttlMs: 5000 })).rejects.toThrow(
        RangeError,
      );
      for (const ttlMs of [0, -1, 1.5, Number.NaN]) {
        await expect(store.claimOnce(key, { id: 'a', ttlMs })).rejects.toThrow(RangeError);
      }
    });
  });

  describe('with a Redis that accepts commands and never answers (a frozen redis-server)', () => {
    let frozen: Awaited<ReturnType<typeof frozenRedisClient>>;
    let mute: Redis;
    beforeAll(async () => {
      frozen = await frozenRedisClient();
      mute = frozen.client;
    });
    afterAll(() => frozen.close());

    it('rejects every caller after timeoutMs, with one timer per Redis call', async () => {
      const timeouts = jest.spyOn(global, 'setTimeout');
      try {
        const store = new RedisRateLimitStore(mute, { prefix: PREFIX, timeoutMs: 123 });
        const rules = [{ limit: 5, windowMs: 1000 }];
        const started = Date.now();
        const settled = await Promise.allSettled([
          store.consume('silent', rules),
          store.consume('silent', rules),
          store.consume('silent', rules),
          store.consumeOnce('silent', rules, { id: 'sig', ttlMs: 1000 }),
          store.claimOnce('silent', { id: 'sig2', ttlMs: 1000 }),
        ]);
        const elapsed = Date.now() - started;
        for (const s of settled) {
          expect(s.status).toBe('rejected');
          expect((s as PromiseRejectedResult).reason).toBeInstanceOf(RateLimitTimeoutError);
        }
        expect(elapsed).toBeGreaterThanOrEqual(115);
        expect(elapsed).toBeLessThan(5000);
        // The first consume (sent at once), the other two (batched), the consumeOnce and the
        // claimOnce: four Redis calls, four timers.
        expect(timeouts.mock.calls.filter(([, ms]) => ms === 123)).toHaveLength(4);
      } finally {
        timeouts.mockRestore();
      }
    });

    it('refuses a timeout that is not a positive integer', () => {
      for (const timeoutMs of [0, -1, 1.5, Number.NaN]) {
        expect(() => new RedisRateLimitStore(mute, { timeoutMs })).toThrow(RangeError);
      }
    });
  });

  it('answers within the timeout when Redis does, and leaves no timer behind', async () => {
    const timed = new RedisRateLimitStore(redis, { prefix: PREFIX, timeoutMs: 60_000 });
    const rules = [{ limit: 1, windowMs: 1000 }];
    const key = freshKey('timed');
    const set = jest.spyOn(global, 'setTimeout');
    const clear = jest.spyOn(global, 'clearTimeout');
    try {
      const [a, b] = await Promise.all([timed.consume(key, rules), timed.consume(key, rules)]);
      expect([a.allowed, b.allowed]).toEqual([true, false]);
      const ours = set.mock.calls.flatMap(([, ms], i) =>
        ms === 60_000 ? [set.mock.results[i].value as NodeJS.Timeout] : [],
      );
      // The first call went at once, the second was batched: two Redis calls, both timers cleared.
      expect(ours).toHaveLength(2);
      for (const timer of ours) expect(clear).toHaveBeenCalledWith(timer);
    } finally {
      set.mockRestore();
      clear.mockRestore();
    }
  });

  it('falls back to EVAL when the script is not cached', async () => {
    const calls: string[] = [];
    const client = {
      evalsha: () => {
        calls.push('evalsha');
        return Promise.reject(new Error('NOSCRIPT No matching script. Please use EVAL.'));
      },
      eval: (...args: Parameters<Redis['eval']>) => {
        calls.push('eval');
        return redis.eval(...args);
      },
    } as unknown as Redis;
    const decision = await new RedisRateLimitStore(client, { prefix: PREFIX }).consume(
      freshKey('noscript'),
      [{ limit: 2, windowMs: 1000 }],
    );
    expect(calls).toEqual(['evalsha', 'eval']);
    expect(decision.rules[0].remaining).toBe(1);
  });

  describe("on the caller's clock", () => {
    let replay: RedisRateLimitStore;
    beforeAll(() => {
      replay = new RedisRateLimitStore(redis, { prefix: PREFIX, clock: 'caller' });
    });

    it('decides exactly as the brute-force sliding log over randomized arrivals', async () => {
      for (let seed = 0x5eed; seed < 0x5eed + 40; seed++) {
        const random = seededRandom(seed);
        const rules = randomRules(random);
        const shortest = Math.min(...rules.map((r) => r.windowMs));
        const key = freshKey('replay');
        const reference = new ReferenceLimiter();
        const admitted: number[] = [];
        for (const t of randomArrivals(random, 200, shortest)) {
          const decision = await replay.consume(key, rules, t);
          if (decision.allowed) admitted.push(t);
          const got = JSON.stringify(summarize(decision));
          const want = JSON.stringify(reference.decide(t, rules));
          if (got !== want) {
            expect({ seed, t, got }).toEqual({ seed, t, got: want });
            break;
          }
        }
        for (const rule of rules) {
          expect(maxInAnyWindow(admitted, rule.windowMs)).toBeLessThanOrEqual(rule.limit);
        }
      }
    });

    it('decides the calls of one turn in one script call, exactly as single calls in call order', async () => {
      const evalsha = jest.spyOn(redis, 'evalsha');
      try {
        for (let seed = 0xba7c; seed < 0xba7c + 30; seed++) {
          const random = seededRandom(seed);
          const rules = randomRules(random);
          const shortest = Math.min(...rules.map((r) => r.windowMs));
          const key = freshKey('batched');
          const reference = new ReferenceLimiter();
          const arrivals = randomArrivals(random, 200, shortest);
          // The arrivals of one millisecond (bursts of up to 12) are made in the same turn.
          const turns: number[][] = [];
          for (const t of arrivals) {
            const last = turns[turns.length - 1];
            if (last && last[0] === t) last.push(t);
            else turns.push([t]);
          }
          evalsha.mockClear();
          for (const turn of turns) {
            const decisions = await Promise.all(turn.map((t) => replay.consume(key, rules, t)));
            const got = JSON.stringify(decisions.map(summarize));
            const want = JSON.stringify(turn.map((t) => reference.decide(t, rules)));
            if (got !== want) {
              expect({ seed, t: turn[0], got }).toEqual({ seed, t: turn[0], got: want });
              return;
            }
          }
          // Nothing is in flight when a turn starts: its first call goes alone, the rest together.
          const calls = turns.reduce((n, turn) => n + Math.min(turn.length, 2), 0);
          expect(evalsha).toHaveBeenCalledTimes(calls);
        }
      } finally {
        evalsha.mockRestore();
      }
    });

    it('keeps apart, in one turn, the calls of other keys, rule sets and clock readings', async () => {
      const evalsha = jest.spyOn(redis, 'evalsha');
      try {
        const [a, b] = [freshKey('turn-a'), freshKey('turn-b')];
        const two = [{ limit: 2, windowMs: 1000, name: 'two' }];
        // The same windows and limit under another name: one log, so one batch.
        const twoRenamed = [{ limit: 2, windowMs: 1000, name: 'renamed' }];
        const three = [{ limit: 3, windowMs: 1000 }];
        const decisions = await Promise.all([
          replay.consume(a, two, 100),
          replay.consume(b, two, 100),
          replay.consume(a, twoRenamed, 100),
          replay.consume(a, three, 100),
          replay.consume(a, two, 101),
          replay.consume(a, two, 100),
        ]);
        // The first goes at once (nothing in flight); then the batches (b, two@100),
        // (a, two@100) x2, (a, three@100), (a, two@101).
        expect(evalsha).toHaveBeenCalledTimes(5);
        expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, false, false]);
        expect(decisions.map((d) => d.rules[0].remaining)).toEqual([1, 1, 0, 0, 0, 0]);
        // Each answer names its caller's own rule.
        expect(decisions[2].rules[0].rule.name).toBe('renamed');
        expect(decisions[0].rules[0].rule.name).toBe('two');
        // (a, three) found the two admissions of (a, two@100) counted: same window, same log.
        expect(decisions[3].rules[0]).toMatchObject({ remaining: 0, resetMs: 1000 });
        expect(decisions[5].retryAfterMs).toBe(1000);
      } finally {
        evalsha.mockRestore();
      }
    });

    it('sends a call at once when none is in flight, and gathers the ones made meanwhile', async () => {
      const evalsha = jest.spyOn(redis, 'evalsha');
      try {
        const key = freshKey('idle');
        const rules = [{ limit: 10, windowMs: 1000 }];
        const first = replay.consume(key, rules, 500);
        // Sent within the call itself: no turn of the event loop in between.
        expect(evalsha).toHaveBeenCalledTimes(1);
        const second = replay.consume(key, rules, 500);
        const third = replay.consume(key, rules, 500);
        expect(evalsha).toHaveBeenCalledTimes(1);
        const decisions = await Promise.all([first, second, third]);
        // The two made while the first was in flight shared one call, at the end of the turn.
        expect(evalsha).toHaveBeenCalledTimes(2);
        expect(decisions.map((d) => d.rules[0].remaining)).toEqual([9, 8, 7]);
        // Idle again: the next call goes at once.
        const fourth = replay.consume(key, rules, 501);
        expect(evalsha).toHaveBeenCalledTimes(3);
        expect((await fourth).rules[0].remaining).toBe(6);
      } finally {
        evalsha.mockRestore();
      }
    });

    it('rejects every call of a batch whose script call fails, and only those', async () => {
      const offline = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false });
      try {
        const failing = new RedisRateLimitStore(offline, { prefix: PREFIX, clock: 'caller' });
        const rules = [{ limit: 5, windowMs: 1000 }];
        const key = freshKey('failing');
        const settled = await Promise.allSettled([
          failing.consume(key, rules, 10),
          failing.consume(key, rules, 10),
          replay.consume(key, rules, 10),
        ]);
        expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
        // Nothing was counted by the failed batch.
        expect((await replay.consume(key, rules, 11)).rules[0].remaining).toBe(3);
        await expect(failing.consume(key, [], 10)).rejects.toThrow(RangeError);
      } finally {
        offline.disconnect();
      }
    });

    it('keeps the clock monotonic per key', async () => {
      const key = freshKey('monotonic');
      const rules = [{ limit: 1, windowMs: 1000 }];
      expect((await replay.consume(key, rules, 5000)).allowed).toBe(true);
      expect((await replay.consume(key, rules, 4500)).allowed).toBe(false);
      expect((await replay.consume(key, rules, 5999)).allowed).toBe(false);
      expect((await replay.consume(key, rules, 6000)).allowed).toBe(true);
    });

    it('honours a lowered limit only once enough old admissions have expired', async () => {
      const key = freshKey('lowered');
      for (let t = 0; t < 5; t++)
        await replay.consume(key, [{ limit: 5, windowMs: 1000 }], t * 100);
      const refused = await replay.consume(key, [{ limit: 2, windowMs: 1000 }], 450);
      expect(refused.retryAfterMs).toBe(1300 - 450);
    });

    it('keeps the state of another rule set on the same key while it is still live', async () => {
      const key = freshKey('mixed');
      const hourly = [{ limit: 2, windowMs: 3_600_000 }];
      const perSecond = [{ limit: 5, windowMs: 1000 }];
      await replay.consume(key, hourly, 1000);
      await replay.consume(key, hourly, 2000);
      for (let t = 3000; t < 60_000; t += 700) await replay.consume(key, perSecond, t);
      // The per-second calls rewrote the state with a TTL long enough for the hour's runs.
      expect(await redis.pttl(replay.redisKeys(key, perSecond)[0])).toBeGreaterThan(3_600_000);
      expect((await replay.consume(key, hourly, 60_000)).allowed).toBe(false);
    });

    it('counts a shared bucket across rule sets and keeps other buckets apart', async () => {
      const key = freshKey('buckets');
      const tenant = { limit: 3, windowMs: 1000, bucket: 0 };
      const search = [tenant, { limit: 2, windowMs: 1000, bucket: 1 }];
      const write = [tenant, { limit: 2, windowMs: 1000, bucket: 2 }];
      expect((await replay.consume(key, search, 0)).allowed).toBe(true);
      expect((await replay.consume(key, search, 1)).allowed).toBe(true);
      expect(await replay.consume(key, search, 2)).toMatchObject({
        allowed: false,
        retryAfterMs: 998,
      });
      const w = await replay.consume(key, write, 3);
      expect(w.allowed).toBe(true);
      expect(w.rules.map((r) => r.remaining)).toEqual([0, 1]);
      expect(await replay.consume(key, write, 4)).toMatchObject({
        allowed: false,
        retryAfterMs: 996,
      });
      // The bucket and the window are one slot: the lists of the two 1 s logs are distinct keys.
      expect(new Set(replay.redisKeys(key, search)).size).toBe(3);
    });

    it('rebuilds the totals from the lists if the state is lost, less the open run', async () => {
      const key = freshKey('rebuild');
      const rules: WindowRule[] = [{ limit: 4, windowMs: 1000 }];
      await replay.consume(key, rules, 100);
      await replay.consume(key, rules, 100);
      // Opens a new run and closes the one at 100 (2 admissions) onto the list.
      await replay.consume(key, rules, 150);
      await redis.del(replay.redisKeys(key, rules)[0]);
      const after = await replay.consume(key, rules, 200);
      expect(after.rules[0]).toMatchObject({ remaining: 1, resetMs: 900 });
      expect((await replay.consume(key, rules, 300)).allowed).toBe(true);
      expect((await replay.consume(key, rules, 300)).allowed).toBe(false);
    });
  });
});
