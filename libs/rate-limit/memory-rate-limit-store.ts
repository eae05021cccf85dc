import {
  assertRules,
  ruleSlot,
  type Decision,
  type RateLimitStore,
  type RuleDecision,
  type WindowRule,
} from './rate-limit';
import { SlidingLog } from './sliding-log';

interface KeyState {
  /** Latest time seen for this key: the clock is clamped to it so it never runs backwards. */
  last: number;
  /** By ruleSlot(): bucket and window. */
  logs: Map<number, SlidingLog>;
}

export interface MemoryRateLimitStoreOptions {
  /** Most keys held at once (default 10,000); the least recently used key is dropped beyond it. */
  maxKeys?: number;
}

/**
 * The algorithm of sliding-log.ts in process memory: embedded mode, and the local cap when Redis is
 * unreachable. Exact within one process only. Memory is bounded by maxKeys keys, each holding at most
 * 2,000 runs per window; dropping a key that still has live admissions forgets them, so set maxKeys
 * above the number of keys active within the longest window.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly maxKeys: number;
  /** Insertion order is recency order: a key is re-inserted on every use. */
  private readonly keys = new Map<string, KeyState>();

  constructor(opts: MemoryRateLimitStoreOptions = {}) {
    const maxKeys = opts.maxKeys ?? 10_000;
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new RangeError(`rate limit: maxKeys must be a positive integer, got ${maxKeys}`);
    }
    this.maxKeys = maxKeys;
  }

  get size(): number {
    return this.keys.size;
  }

  consume(key: string, rules: readonly WindowRule[], nowMs?: number): Promise<Decision> {
    try {
      return Promise.resolve(this.consumeSync(key, rules, nowMs));
    } catch (err) {
      // Invalid rules reject, as they do on the Redis store, rather than throw synchronously.
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** consume() without the promise, for callers on a synchronous path. */
  consumeSync(key: string, rules: readonly WindowRule[], nowMs: number = Date.now()): Decision {
    assertRules(rules);
    // Whole milliseconds, as on Redis.
    const clock = Math.floor(nowMs);
    let state = this.keys.get(key);
    if (state === undefined) {
      state = { last: clock, logs: new Map() };
    } else {
      this.keys.delete(key);
    }
    this.keys.set(key, state);
    this.evictBeyondMax();

    const now = Math.max(clock, state.last);
    state.last = now;
    const logs = rules.map((rule) => {
      const slot = ruleSlot(rule);
      let log = state.logs.get(slot);
      if (log === undefined) {
        log = new SlidingLog();
        state.logs.set(slot, log);
      }
      log.expire(now, rule.windowMs);
      return log;
    });

    const allowed = logs.every((log, i) => log.total < rules[i].limit);
    if (allowed) logs.forEach((log, i) => log.record(now, rules[i].windowMs));

    let retryAfterMs = 0;
    const decisions: RuleDecision[] = rules.map((rule, i) => {
      const resetMs = logs[i].resetMs(now, rule);
      if (!allowed && logs[i].total >= rule.limit) retryAfterMs = Math.max(retryAfterMs, resetMs);
      return { rule, remaining: Math.max(0, rule.limit - logs[i].total), resetMs };
    });
    return { allowed, rules: decisions, retryAfterMs };
  }

  /** Drops least recently used keys, but never the one just touched (it is the newest). */
  private evictBeyondMax(): void {
    while (this.keys.size > this.maxKeys) {
      const oldest = this.keys.keys().next();
      if (oldest.done === true) return;
      this.keys.delete(oldest.value);
    }
  }
}
