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
import { withTimeout } from '@libs/timeout';
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
  /**
   * When set, a Redis call not answered within this many ms rejects its callers (every call of a batch)
   * with a RateLimitTimeoutError; the reply, should it come later, is ignored. One timer per Redis call,
   * not per request.
   */
  timeoutMs?: number;
}

/** A Redis call of the store was not answered within its timeoutMs. */
export class RateLimitTimeoutError extends Error {
  constructor(ms: number) {
    super(`rate limit: Redis did not answer within ${ms} ms`);
    this.name = 'RateLimitTimeoutError';
  }
}

/** consume() calls waiting for the same script call: same key, same rules, same clock argument. */
interface Batch {
  keys: string[];
  /** The script's arguments without the count (ARGV[2] on). */
  args: string[];
  rules: readonly WindowRule[];
  waiters: Array<{
    rules: readonly WindowRule[];
    resolve: (decision: Decision) => void;
    reject: (err: unknown) => void;
  }>;
}

/**
 * The sliding-log limiter (sliding-log.ts) on Redis: one EVALSHA per decision (or batch of them),
 * whatever the number of rules, so all of them are checked and consumed atomically. The SHA is computed locally; on NOSCRIPT
 * (first use, a restarted or failed-over Redis) the call is repeated as EVAL, which also caches the
 * script. All keys of one limiter key carry the same hash tag, so Redis Cluster keeps them in one slot
 * and the script can touch them all.
 *
 * Batching: while any consume() call of this store is waiting on Redis, further calls made in the same
 * turn of the event loop are gathered, one batch per key, rule set and clock argument, and each batch is
 * one script call, sent when the turn ends (setImmediate, the window in which the shared client
 * coalesces its writes anyway). A call made when nothing is waiting goes at once: a lone request pays
 * no extra turn, and under load, where calls overlap, they are batched. The script decides a batch as
 * that many requests arriving one after another in the same millisecond (sliding-log.lua.ts), so its
 * answers are exactly those of as many single calls in the order they were made. Across batches the
 * order is the order of the script calls, not of the consume() calls: two batches of one key with
 * different rule sets that share a window (a tenant's search and write classes share its tenant-wide
 * rules) are decided one batch after the other, so near a shared limit a later call of the first batch
 * may be admitted before an earlier one of the second. That changes who gets the last slots, never how
 * many there are. A hot tenant costs Redis one script run per turn and rule set rather than one per
 * request. A once-only claim (consumeOnce with `once`) is its own call, as its id is its own key.
 */
export class RedisRateLimitStore implements RateLimitStore {
  private readonly prefix: string;
  private readonly callerClock: boolean;
  private readonly timeoutMs: number | undefined;
  /** Batches being gathered this turn, by clock argument and base key. */
  private pending = new Map<string, Batch[]>();
  private flushScheduled = false;
  /** Script calls of consume() sent to Redis and not yet answered. */
  private inFlight = 0;

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
    if (
      opts.timeoutMs !== undefined &&
      (!Number.isSafeInteger(opts.timeoutMs) || opts.timeoutMs < 1)
    ) {
      throw new RangeError(
        `rate limit: timeoutMs must be a positive integer, got ${opts.timeoutMs}`,
      );
    }
    this.timeoutMs = opts.timeoutMs;
  }

  /** With the default 'redis' clock, nowMs is ignored: the decision uses Redis TIME. */
  // async: a bad argument is a rejected promise, as for every other call here, not a throw.
  async consume(key: string, rules: readonly WindowRule[], nowMs?: number): Promise<Decision> {
    assertRules(rules);
    const base = this.baseKey(key);
    const clock = this.clockArg(nowMs);
    // Nothing of ours waiting on Redis: there is no queue to join, so this call goes at once rather
    // than a turn later (what a lone request would otherwise pay in latency).
    const alone = this.inFlight === 0 && !this.flushScheduled;
    const batch = alone ? this.newBatch(base, clock, rules) : this.batchFor(base, clock, rules);
    const decision = new Promise<Decision>((resolve, reject) =>
      batch.waiters.push({ rules, resolve, reject }),
    );
    if (alone) this.dispatch(batch);
    return decision;
  }

  private newBatch(base: string, clock: string, rules: readonly WindowRule[]): Batch {
    return { ...this.callOf(base, clock, rules), rules, waiters: [] };
  }

  /** This turn's batch for the key, rules and clock, made (and the flush scheduled) if need be. */
  private batchFor(base: string, clock: string, rules: readonly WindowRule[]): Batch {
    const group = `${clock} ${base}`;
    let batches = this.pending.get(group);
    if (!batches) {
      batches = [];
      this.pending.set(group, batches);
    }
    let batch = batches.find((b) => sameRules(b.rules, rules));
    if (!batch) {
      batch = this.newBatch(base, clock, rules);
      batches.push(batch);
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return batch;
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
    if (!once) return this.consume(key, rules, nowMs);
    assertRules(rules);
    const base = this.baseKey(key);
    const { keys, args } = this.callOf(base, this.clockArg(nowMs), rules);
    keys.push(this.onceKey(base, once));
    args.push(String(onceTtl(once)));
    const reply = await this.run(keys.length, [...keys, '1', ...args]);
    if (Array.isArray(reply) && reply.length === 1 && reply[0] === -1) return 'seen';
    return decisionsOf(reply, [rules])[0];
  }

  /** The script's clock argument: the caller's clock, or '' for Redis TIME. */
  private clockArg(nowMs: number | undefined): string {
    return this.callerClock ? String(callerNow(nowMs)) : '';
  }

  /** The script's keys and its arguments after the count, for a decision under the key `base`. */
  private callOf(
    base: string,
    clock: string,
    rules: readonly WindowRule[],
  ): { keys: string[]; args: string[] } {
    const keys: string[] = [base];
    for (const rule of rules) keys.push(`${base}:${ruleSlot(rule)}`);
    const args: string[] = [clock];
    for (const rule of rules) {
      args.push(
        String(ruleSlot(rule)),
        String(rule.windowMs),
        String(rule.limit),
        String(quantumMs(rule.windowMs)),
      );
    }
    return { keys, args };
  }

  /** Sends this turn's batches, one script call each, and answers their callers in call order. */
  private flush(): void {
    this.flushScheduled = false;
    const groups = this.pending;
    this.pending = new Map();
    for (const batches of groups.values()) {
      for (const batch of batches) this.dispatch(batch);
    }
  }

  /** One script call for `batch`, its answers handed out in call order. */
  private dispatch({ keys, args, waiters }: Batch): void {
    this.inFlight++;
    this.run(keys.length, [...keys, String(waiters.length), ...args]).then(
      (reply) => {
        this.inFlight--;
        let decisions: Decision[];
        try {
          decisions = decisionsOf(
            reply,
            waiters.map((w) => w.rules),
          );
        } catch (err) {
          for (const w of waiters) w.reject(err);
          return;
        }
        waiters.forEach((w, k) => w.resolve(decisions[k]));
      },
      (err: unknown) => {
        this.inFlight--;
        for (const w of waiters) w.reject(err);
      },
    );
  }

  /** The claim of consumeOnce alone, on the same Redis key: 'seen' when it was claimed before. */
  async claimOnce(key: string, once: OnceClaim): Promise<'first' | 'seen'> {
    const set = await this.timed(
      this.redis.set(this.onceKey(this.baseKey(key), once), '1', 'PX', onceTtl(once), 'NX'),
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

  /** The script, under the timeout. */
  private run(numKeys: number, args: string[]): Promise<unknown> {
    return this.timed(this.evaluate(numKeys, args));
  }

  private async evaluate(numKeys: number, args: string[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(SCRIPT_SHA, numKeys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return this.redis.eval(SLIDING_LOG_LUA, numKeys, ...args);
    }
  }

  private timed<T>(call: Promise<T>): Promise<T> {
    const ms = this.timeoutMs;
    return ms === undefined
      ? call
      : withTimeout(call, ms, (after) => new RateLimitTimeoutError(after));
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

/** Rule sets the script cannot tell apart (their names, which it never sees, may differ). */
function sameRules(a: readonly WindowRule[], b: readonly WindowRule[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].limit !== b[i].limit || ruleSlot(a[i]) !== ruleSlot(b[i])) return false;
  }
  return true;
}

/**
 * The answers of one script call for its requests in call order (`rulesOf[k]` is request k's rules):
 * the first `admitted` were admitted, request k then with `admitted - 1 - k` more left than the script
 * reports after the last of them; a refused request sees the state the batch left. resetMs and
 * retryAfterMs are the batch's for every request, which is what single calls at the same instant would
 * have answered: every admission of the batch lands in the same run, and a request admitted in it
 * leaves at most the limit counted, so the slot it waits for is the oldest one either way.
 */
function decisionsOf(reply: unknown, rulesOf: ReadonlyArray<readonly WindowRule[]>): Decision[] {
  const n = rulesOf[0].length;
  if (!isNumberArray(reply) || reply.length !== n * 2 + 2) {
    throw new Error(`rate limit: unexpected script reply ${JSON.stringify(reply)}`);
  }
  const admitted = reply[0];
  if (!Number.isSafeInteger(admitted) || admitted < 0 || admitted > rulesOf.length) {
    throw new Error(`rate limit: unexpected script reply ${JSON.stringify(reply)}`);
  }
  const retryAfterMs = reply[reply.length - 1];
  return rulesOf.map((rules, k) => {
    const allowed = k < admitted;
    const more = allowed ? admitted - 1 - k : 0;
    const decisions: RuleDecision[] = rules.map((rule, i) => ({
      rule,
      remaining: reply[1 + 2 * i] + more,
      resetMs: reply[2 + 2 * i],
    }));
    return { allowed, rules: decisions, retryAfterMs: allowed ? 0 : retryAfterMs };
  });
}
