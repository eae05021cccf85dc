import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type Redis from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import {
  MemoryRateLimitStore,
  RedisRateLimitStore,
  type Decision,
  type OnceClaim,
  type WindowRule,
} from '@libs/rate-limit';
import { LocalTtlMap } from '@app/common/local-ttl-map';
import { AppConfig } from '@app/config/app-config';
import { CommonErrorCode, commonError } from '@app/common/errors/common-errors';
import { REDIS } from '@app/redis/redis.module';
import { shareOf } from './rate-limit-policy';

/** How long after a Redis failure decisions stay local before Redis is tried again. */
const RETRY_REDIS_AFTER_MS = 1000;
/** Once-only ids remembered in memory (embedded mode), at most. */
const MAX_LOCAL_ONCE_IDS = 200_000;

export type FailureMode = 'open' | 'closed';

export interface LimitOutcome {
  decision: Decision;
  /** 'redis' (shared by every instance), 'memory' (embedded mode), or 'local-fallback'. */
  source: 'redis' | 'memory' | 'local-fallback';
}

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

const fallbackDecisions = new Counter({
  name: 'quiver_rate_limit_fallback_total',
  help: 'Rate-limit decisions taken without Redis because it was unreachable, by outcome',
  labelNames: ['outcome'] as const,
});

const degradedGauge = new Gauge({
  name: 'quiver_rate_limit_degraded',
  help: '1 while this process decides rate limits locally because Redis is unreachable',
});

/**
 * The rate limiter's storage: the exact sliding log of libs/rate-limit, in Redis when there is one
 * (shared by every api instance; one atomic script per decision, or per batch of the decisions made in one
 * event-loop turn for a key and rule set while Redis is busy) and in memory otherwise. It is also
 * the @nestjs/throttler storage (increment()), so stock @Throttle limits use the same exact algorithm.
 *
 * When Redis cannot answer (or not within RATE_LIMIT_REDIS_TIMEOUT_MS: the store keeps one timer per Redis
 * call, not per request), a decision marked 'open' falls back to this process's memory with each
 * limit scaled to RATE_LIMIT_FALLBACK_SHARE (so N instances admit about N x share x limit), counted in
 * quiver_rate_limit_fallback_total and logged once per outage; one marked 'closed' is refused with
 * 503. After a failure, Redis is retried once a second rather than on every request.
 */
@Injectable()
export class RateLimiter implements ThrottlerStorage {
  private readonly logger = new Logger('RateLimiter');
  private readonly redisStore: RedisRateLimitStore | null;
  private readonly memory: MemoryRateLimitStore;
  /** Once-only ids in embedded mode, keyed by limiter key and id. */
  private readonly localOnce = new LocalTtlMap<true>(MAX_LOCAL_ONCE_IDS);
  private readonly share: number;
  private degradedUntil = 0;
  private degraded = false;

  constructor(@Inject(REDIS) redis: Redis | null, config: AppConfig) {
    const env = config.env;
    this.redisStore = redis
      ? // QUEUE_PREFIX is a hash tag ({quiver}); limiter keys take the tenant as theirs instead.
        new RedisRateLimitStore(redis, {
          prefix: `${env.QUEUE_PREFIX.slice(1, -1)}:rl:`,
          timeoutMs: env.RATE_LIMIT_REDIS_TIMEOUT_MS,
        })
      : null;
    this.memory = new MemoryRateLimitStore({ maxKeys: 100_000 });
    this.share = env.RATE_LIMIT_FALLBACK_SHARE;
  }

  get backend(): 'redis' | 'memory' {
    return this.redisStore ? 'redis' : 'memory';
  }

  /**
   * One atomic decision over all `rules` for `key`. Throws a 503 problem when Redis is unreachable
   * and `onRedisFailure` is 'closed'.
   */
  async consume(
    key: string,
    rules: readonly WindowRule[],
    onRedisFailure: FailureMode,
  ): Promise<LimitOutcome> {
    return this.decide(key, rules, onRedisFailure, undefined) as Promise<LimitOutcome>;
  }

  /**
   * consume(), after accepting `once.id` under `key` only the first time within `once.ttlMs`, in the
   * same Redis call: a repeat is 'seen' and counts against no limit. A once-only check that cannot be
   * made is not a pass: when Redis is unreachable this throws a 503 whatever `onRedisFailure` says.
   */
  consumeOnce(
    key: string,
    rules: readonly WindowRule[],
    onRedisFailure: FailureMode,
    once: OnceClaim,
  ): Promise<LimitOutcome | 'seen'> {
    return this.decide(key, rules, onRedisFailure, once);
  }

  /** The once-only check of consumeOnce alone (where no limit applies), on the same ids. */
  async claimOnce(key: string, once: OnceClaim): Promise<'first' | 'seen'> {
    if (!this.redisStore) return this.claimLocally(key, once);
    try {
      return await this.redisStore.claimOnce(key, once);
    } catch (err) {
      this.failed(err);
      throw onceUnavailable();
    }
  }

  private async decide(
    key: string,
    rules: readonly WindowRule[],
    onRedisFailure: FailureMode,
    once: OnceClaim | undefined,
  ): Promise<LimitOutcome | 'seen'> {
    if (!this.redisStore) {
      if (once && this.claimLocally(key, once) === 'seen') return 'seen';
      return { decision: this.memory.consumeSync(key, rules), source: 'memory' };
    }
    if (Date.now() >= this.degradedUntil) {
      try {
        const decision = await this.redisStore.consumeOnce(key, rules, once);
        if (this.degraded) this.recovered();
        return decision === 'seen' ? 'seen' : { decision, source: 'redis' };
      } catch (err) {
        this.failed(err);
      }
    }
    if (once) {
      fallbackDecisions.inc({ outcome: 'refused' });
      throw onceUnavailable();
    }
    if (onRedisFailure === 'closed') {
      fallbackDecisions.inc({ outcome: 'refused' });
      throw commonError(
        CommonErrorCode.ServiceUnavailable,
        'The rate limiter cannot reach its store; this operation is refused until it can.',
        {},
        { 'retry-after': '1' },
      );
    }
    const decision = this.memory.consumeSync(key, shareOf(rules, this.share));
    fallbackDecisions.inc({ outcome: decision.allowed ? 'admitted' : 'limited' });
    return { decision, source: 'local-fallback' };
  }

  private claimLocally(key: string, once: OnceClaim): 'first' | 'seen' {
    const id = `${key} ${once.id}`;
    if (this.localOnce.get(id) !== undefined) return 'seen';
    this.localOnce.set(id, true, once.ttlMs);
    return 'first';
  }

  /** The @nestjs/throttler storage contract, on the same algorithm (ttl and limit of one rule). */
  async increment(
    key: string,
    ttl: number,
    limit: number,
    _blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const rule: WindowRule = { limit, windowMs: Math.max(1, Math.round(ttl)), name: throttlerName };
    const { decision } = await this.consume(`throttler:${key}`, [rule], 'open');
    const [only] = decision.rules;
    return {
      totalHits: decision.allowed ? limit - only.remaining : limit + 1,
      timeToExpire: Math.ceil(only.resetMs / 1000),
      // A sliding log blocks no longer than it takes a slot to free up: blockDuration does not apply.
      isBlocked: !decision.allowed,
      timeToBlockExpire: decision.allowed
        ? 0
        : Math.max(1, Math.ceil(decision.retryAfterMs / 1000)),
    };
  }

  private failed(err: unknown): void {
    this.degradedUntil = Date.now() + RETRY_REDIS_AFTER_MS;
    if (this.degraded) return;
    this.degraded = true;
    degradedGauge.set(1);
    this.logger.error(
      { err, alert: 'rate_limiter_degraded', fallbackShare: this.share },
      'ALERT: rate limiter cannot reach Redis: limits are now per process (fail-open routes) and ' +
        'fail-closed routes answer 503',
    );
  }

  private recovered(): void {
    this.degraded = false;
    degradedGauge.set(0);
    this.logger.warn({ alert: 'rate_limiter_recovered' }, 'rate limiter reaches Redis again');
  }
}

function onceUnavailable() {
  return commonError(
    CommonErrorCode.ServiceUnavailable,
    'Signed requests cannot be checked for replay right now.',
    {},
    { 'retry-after': '1' },
  );
}
