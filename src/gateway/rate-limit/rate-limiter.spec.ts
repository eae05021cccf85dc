import { Redis } from 'ioredis';
import { register } from 'prom-client';
import { AppConfig } from '@app/config/app-config';
import { AppException } from '@app/common/errors/app-exception';
import { frozenRedisClient } from '../../../test/support/private-redis';
import { RateLimiter } from './rate-limiter';

const config = (env: Record<string, string> = {}) =>
  AppConfig.fromEnvironment({ LOG_LEVEL: 'silent', ...env });

async function metric(name: string, outcome?: string): Promise<number> {
  const m = await register.getSingleMetric(name)?.get();
  return m?.values.find((v) => outcome === undefined || v.labels.outcome === outcome)?.value ?? 0;
}

describe('RateLimiter', () => {
  it('answers the @nestjs/throttler storage contract on the sliding log', async () => {
    const limiter = new RateLimiter(null, config());
    expect(limiter.backend).toBe('memory');
    const first = await limiter.increment('k', 1000, 2, 0, 'default');
    expect(first).toEqual({
      totalHits: 1,
      timeToExpire: 1,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
    expect((await limiter.increment('k', 1000, 2, 0, 'default')).totalHits).toBe(2);
    const blocked = await limiter.increment('k', 1000, 2, 0, 'default');
    expect(blocked.isBlocked).toBe(true);
    expect(blocked.totalHits).toBe(3);
    expect(blocked.timeToBlockExpire).toBe(1);
    // Another key is another log.
    expect((await limiter.increment('other', 1000, 2, 0, 'default')).isBlocked).toBe(false);
  });

  describe('with a Redis that cannot be reached', () => {
    // Port 1 on loopback refuses connections: every command fails at once.
    let redis: Redis;
    beforeAll(() => {
      redis = new Redis('redis://127.0.0.1:1', {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        lazyConnect: true,
      });
      redis.on('error', () => undefined);
    });
    afterAll(() => redis.disconnect());

    const rules = [{ limit: 10, windowMs: 60_000 }];

    it('fails open under the local share of each limit, and counts it', async () => {
      const limiter = new RateLimiter(redis, config({ RATE_LIMIT_FALLBACK_SHARE: '0.3' }));
      const before = await metric('quiver_rate_limit_fallback_total', 'admitted');
      const outcomes = [];
      for (let i = 0; i < 5; i++) outcomes.push(await limiter.consume('t:a', rules, 'open'));
      expect(outcomes.map((o) => o.source)).toEqual(Array(5).fill('local-fallback'));
      expect(outcomes.map((o) => o.decision.allowed)).toEqual([true, true, true, false, false]);
      expect(await metric('quiver_rate_limit_fallback_total', 'admitted')).toBe(before + 3);
      expect(await metric('quiver_rate_limit_degraded')).toBe(1);
    });

    it('fails closed with a 503 problem when told to', async () => {
      const limiter = new RateLimiter(redis, config());
      const err = await limiter.consume('t:b', rules, 'closed').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppException);
      expect(err).toMatchObject({ status: 503, code: 'service_unavailable' });
      expect((err as AppException).headers).toEqual({ 'retry-after': '1' });
    });

    it('refuses a once-only check with a 503 even where the limit itself would fail open', async () => {
      const limiter = new RateLimiter(redis, config());
      const once = { id: 'sig:k:abc', ttlMs: 600_000 };
      for (const attempt of [
        () => limiter.consumeOnce('t:c', rules, 'open', once),
        // Again inside the second in which Redis is not retried: still refused, not decided locally.
        () => limiter.consumeOnce('t:c', rules, 'open', once),
        () => limiter.claimOnce('t:c', once),
      ]) {
        const err = await attempt().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(AppException);
        expect(err).toMatchObject({ status: 503, code: 'service_unavailable' });
      }
    });
  });

  describe('with a Redis that hangs (a frozen redis-server)', () => {
    let frozen: Awaited<ReturnType<typeof frozenRedisClient>>;
    let redis: Redis;
    beforeAll(async () => {
      frozen = await frozenRedisClient();
      redis = frozen.client;
    });
    afterAll(() => frozen.close());

    const rules = [{ limit: 2, windowMs: 60_000 }];

    it('gives up after RATE_LIMIT_REDIS_TIMEOUT_MS and decides as when Redis is down', async () => {
      const limiter = new RateLimiter(
        redis,
        config({ RATE_LIMIT_REDIS_TIMEOUT_MS: '150', RATE_LIMIT_FALLBACK_SHARE: '0.5' }),
      );
      const started = Date.now();
      // One turn: the first call alone, the other two batched; each Redis call times out.
      const outcomes = await Promise.all([
        limiter.consume('t:h', rules, 'open'),
        limiter.consume('t:h', rules, 'open'),
        limiter.consume('t:h', rules, 'open'),
      ]);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(140);
      expect(elapsed).toBeLessThan(5000);
      expect(outcomes.map((o) => o.source)).toEqual(Array(3).fill('local-fallback'));
      // The local share: half of 2 is 1.
      expect(outcomes.map((o) => o.decision.allowed)).toEqual([true, false, false]);
      expect(await metric('quiver_rate_limit_degraded')).toBe(1);
      // Closed routes get their 503, at once now that Redis is known to be unreachable.
      const err = await limiter.consume('t:h', rules, 'closed').catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 503, code: 'service_unavailable' });
    });
  });

  describe('once-only ids in memory (embedded mode)', () => {
    const rules = [{ limit: 3, windowMs: 60_000 }];

    it('accepts an id once per key, before counting, and shares it with claimOnce', async () => {
      const limiter = new RateLimiter(null, config());
      const once = { id: 'sig:k:1', ttlMs: 600_000 };
      const first = await limiter.consumeOnce('t:a', rules, 'open', once);
      expect(first).not.toBe('seen');
      expect(await limiter.consumeOnce('t:a', rules, 'open', once)).toBe('seen');
      expect(await limiter.claimOnce('t:a', once)).toBe('seen');
      // The repeats counted nothing; another key has not seen the id.
      const { decision } = await limiter.consume('t:a', rules, 'open');
      expect(decision.rules[0].remaining).toBe(1);
      expect(await limiter.claimOnce('t:b', once)).toBe('first');
    });

    it('forgets an id once its time is up', async () => {
      const limiter = new RateLimiter(null, config());
      jest.useFakeTimers({ now: 1_000_000, doNotFake: ['nextTick', 'setImmediate'] });
      try {
        expect(await limiter.claimOnce('t:a', { id: 'x', ttlMs: 1000 })).toBe('first');
        jest.setSystemTime(1_000_999);
        expect(await limiter.claimOnce('t:a', { id: 'x', ttlMs: 1000 })).toBe('seen');
        jest.setSystemTime(1_001_000);
        expect(await limiter.claimOnce('t:a', { id: 'x', ttlMs: 1000 })).toBe('first');
      } finally {
        jest.useRealTimers();
      }
    });
  });
});
