import { Redis } from 'ioredis';
import { register } from 'prom-client';
import { AppConfig } from '@app/config/app-config';
import { AppException } from '@app/common/errors/app-exception';
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
  });
});
