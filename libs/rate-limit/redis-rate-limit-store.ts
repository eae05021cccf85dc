import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import {
  assertRules,
  quantumMs,
  ruleSlot,
  type Decision,
  type RateLimitStore,
  type RuleDecision,
  type WindowRule,
} from './rate-limit';
import { SLIDING_LOG_LUA } from './sliding-log.lua';

const SCRIPT_SHA = createHash('sha1').update(SLIDING_LOG_LUA).digest('hex');

/** An id to accept once under a limiter key, remembered for ttlMs (a signature, say). */
export interface OnceClaim {
  id: string;
  ttlMs: number;
}

export interface RedisRateLimitStoreOptions {
  /** Prepended to every Redis key (default 'rl:'). Must not contain '{' or '}'. */
  prefix?: string;
  /**
   * Whose clock decides (default 'redis'). 'redis' reads TIME inside the script: every process sharing
   * the Redis then decides on one clock, which the exactness argument needs (two api hosts whose clocks
   * differ by 50 ms would otherwise each see a different window), and the script clamps it so it never
   * runs backwards, across a failover included. 'caller' takes consume()'s nowMs instead: for tests that
   * replay a timeline, or a single process; across processes it is only as good as their clock sync, and
   * as key TTLs still run on Redis's clock, idle keys then live 10 s longer (sliding-log.lua.ts).
   */
  clock?: 'redis' | 'caller';
}

/**
 * The sliding-log limiter (sliding-log.ts) on Redis: one EVALSHA per consume(), whatever the number of
 * rules, so all of them are checked and consumed atomically. The SHA is computed locally; on NOSCRIPT
 * (first use, a restarted or failed-over Redis) the call is repeated as EVAL, which also caches the
 * script. All keys of one limiter key carry the same hash tag, so Redis Cluster keeps them in one slot
 * and the script can touch them all.
 */
export class RedisRateLimitStore implements RateLimitStore {
  private readonly prefix: string;
  private readonly callerClock: boolean;

  constructor(
    private readonly redis: Redis | Cluster,
    opts: RedisRateLimitStoreOptions = {},
  ) {
    const prefix = opts.prefix ?? 'rl:';
    if (/[{}]/.test(prefix)) {
      // A brace in the prefix would become the hash tag and put every limiter key in one slot.
      throw new RangeError('rate limit: the key prefix must not contain { or }');
    }
    this.prefix = prefix;
    this.callerClock = opts.clock === 'caller';
  }

  /** With the default 'redis' clock, nowMs is ignored: the decision uses Redis TIME. */
  async consume(key: string, rules: readonly WindowRule[], nowMs?: number): Promise<Decision> {
    const reply = await this.consumeOnce(key, rules, undefined, nowMs);
    if (reply === 'seen') throw new Error('rate limit: a once-only answer to a plain consume');
    return reply;
  }

  /**
   * consume(), but first claims `once.id` under `key` for `once.ttlMs`, in the same atomic call: when
   * the id was claimed before (by this or by claimOnce) the answer is 'seen' and nothing is counted.
   * For a signed request's replay check and its rate limit in one round trip.
   */
  async consumeOnce(
    key: string,
    rules: readonly WindowRule[],
    once: OnceClaim | undefined,
    nowMs?: number,
  ): Promise<Decision | 'seen'> {
    assertRules(rules);
    const base = this.baseKey(key);
    const keys: string[] = [base];
    for (const rule of rules) keys.push(`${base}:${ruleSlot(rule)}`);
    const args: string[] = [this.callerClock ? String(callerNow(nowMs)) : ''];
    for (const rule of rules) {
      args.push(
        String(ruleSlot(rule)),
        String(rule.windowMs),
        String(rule.limit),
        String(quantumMs(rule.windowMs)),
      );
    }
    if (once) {
      keys.push(this.onceKey(base, once));
      args.push(String(onceTtl(once)));
    }
    const reply = await this.run(keys.length, [...keys, ...args]);
    if (once && Array.isArray(reply) && reply.length === 1 && reply[0] === -1) return 'seen';
    return toDecision(reply, rules);
  }

  /** The claim of consumeOnce alone, on the same Redis key: 'seen' when it was claimed before. */
  async claimOnce(key: string, once: OnceClaim): Promise<'first' | 'seen'> {
    const set = await this.redis.set(
      this.onceKey(this.baseKey(key), once),
      '1',
      'PX',
      onceTtl(once),
      'NX',
    );
    return set === 'OK' ? 'first' : 'seen';
  }

  /** Every Redis key this store uses for `key` (and `once`): for tests and operational tooling. */
  redisKeys(key: string, rules: readonly WindowRule[], once?: OnceClaim): string[] {
    const base = this.baseKey(key);
    const keys = [base, ...rules.map((rule) => `${base}:${ruleSlot(rule)}`)];
    return once ? [...keys, this.onceKey(base, once)] : keys;
  }

  /** Under the limiter key's hash tag, so the script may touch it in Redis Cluster too. */
  private onceKey(base: string, once: OnceClaim): string {
    if (once.id.length === 0) throw new RangeError('rate limit: a once-only id must not be empty');
    return `${base}:once:${once.id}`;
  }

  private baseKey(key: string): string {
    if (key.length === 0) throw new RangeError('rate limit: the key must not be empty');
    // The key is the hash tag. Escaping the braces (and the escape character, so that distinct keys
    // stay distinct) keeps a '}' inside it from ending the tag early and splitting one limiter key's
    // windows across slots.
    const tag = key.replace(/[%{}]/g, (c) => (c === '%' ? '%25' : c === '{' ? '%7B' : '%7D'));
    return `${this.prefix}{${tag}}`;
  }

  private async run(numKeys: number, args: string[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(SCRIPT_SHA, numKeys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return this.redis.eval(SLIDING_LOG_LUA, numKeys, ...args);
    }
  }
}

function onceTtl(once: OnceClaim): number {
  if (!Number.isSafeInteger(once.ttlMs) || once.ttlMs < 1) {
    throw new RangeError(
      `rate limit: a once-only TTL must be a positive integer, got ${once.ttlMs}`,
    );
  }
  return once.ttlMs;
}

function callerNow(nowMs: number | undefined): number {
  const now = Math.floor(nowMs ?? Date.now());
  // The script marks absent runs with -1, and a clock before the epoch is a bug anyway.
  if (!Number.isSafeInteger(now) || now < 0) {
    throw new RangeError(`rate limit: nowMs must be a non-negative integer, got ${nowMs}`);
  }
  return now;
}

function isNumberArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'number');
}

function toDecision(reply: unknown, rules: readonly WindowRule[]): Decision {
  if (!isNumberArray(reply) || reply.length !== rules.length * 2 + 2) {
    throw new Error(`rate limit: unexpected script reply ${JSON.stringify(reply)}`);
  }
  const decisions: RuleDecision[] = rules.map((rule, i) => ({
    rule,
    remaining: reply[1 + 2 * i],
    resetMs: reply[2 + 2 * i],
  }));
  return { allowed: reply[0] === 1, rules: decisions, retryAfterMs: reply[reply.length - 1] };
}
