/** At most `limit` admissions in any interval of `windowMs` milliseconds. */
export interface WindowRule {
  limit: number;
  windowMs: number;
  /** Policy name for the RateLimit header fields, e.g. '1s'. Defaults to one derived from windowMs. */
  name?: string;
  /**
   * Rules in different buckets keep separate logs under one key, so one atomic call can check, say, a
   * tenant-wide 1 s rule and a per-endpoint-class 1 s rule together. 0 to MAX_BUCKET, default 0.
   */
  bucket?: number;
}

export const MAX_BUCKET = 999;
/** Windows are shorter than this (about 11.5 days): the bucket and the window share one number. */
export const MAX_WINDOW_MS = 1_000_000_000;

/** The identity of a rule's log under its key: bucket and window in one safe integer. */
export function ruleSlot(rule: WindowRule): number {
  return (rule.bucket ?? 0) * MAX_WINDOW_MS + rule.windowMs;
}

export interface RuleDecision {
  rule: WindowRule;
  /** Admissions this rule would still allow right now (after this call's own admission, if any). */
  remaining: number;
  /**
   * Milliseconds until the oldest admission in the window expires, i.e. until the rule gives one
   * slot back (when `remaining` is 0: until one more request would be allowed). 0 for an empty window.
   * At most windowMs + quantumMs(windowMs) - 1.
   */
  resetMs: number;
}

export interface Decision {
  allowed: boolean;
  rules: RuleDecision[];
  /** 0 when allowed; else the smallest wait after which every rule would admit. */
  retryAfterMs: number;
}

export interface RateLimitStore {
  /**
   * Admits one request under `key` only if every rule admits it, and then records it against every
   * rule; a refused request records nothing. `nowMs` is for stores that take the caller's clock.
   */
  consume(key: string, rules: readonly WindowRule[], nowMs?: number): Promise<Decision>;
}

/**
 * Admission times are rounded UP to a multiple of this quantum before they are recorded, so a run of
 * admissions within one quantum is stored as one (time, count) pair and a window holds at most
 * windowMs / quantum + 1 of them (2,000 at worst, about 1,000 for long windows) however high the limit:
 * at 12,000/s a minute window would otherwise keep 60,000 distinct millisecond stamps. Rounding up only makes a record expire later, so the guarantee (never
 * more than `limit` in any window) is untouched; the price is that a slot may come back up to
 * quantum - 1 ms late: never for windows under 2 s (quantum 1 ms, exact to the millisecond), at most
 * 59 ms for a minute.
 */
export function quantumMs(windowMs: number): number {
  return Math.max(1, Math.floor(windowMs / 1000));
}

/** Record time of an admission at `nowMs`: the end of its quantum. */
export function recordTime(nowMs: number, quantum: number): number {
  return Math.ceil(nowMs / quantum) * quantum;
}

/**
 * Throws RangeError on a rule set the stores cannot honour. Two rules with the same window in the same
 * bucket would share one admission log, so they are refused rather than merged silently: keep the
 * stricter one.
 */
export function assertRules(rules: readonly WindowRule[]): void {
  if (rules.length === 0) throw new RangeError('rate limit: at least one rule is required');
  for (let i = 0; i < rules.length; i++) {
    const { limit, windowMs } = rules[i];
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(`rate limit: limit must be a positive integer, got ${limit}`);
    }
    if (!Number.isSafeInteger(windowMs) || windowMs < 1 || windowMs >= MAX_WINDOW_MS) {
      throw new RangeError(
        `rate limit: windowMs must be a positive integer under ${MAX_WINDOW_MS}, got ${windowMs}`,
      );
    }
    const bucket = rules[i].bucket ?? 0;
    if (!Number.isSafeInteger(bucket) || bucket < 0 || bucket > MAX_BUCKET) {
      throw new RangeError(`rate limit: bucket must be an integer 0-${MAX_BUCKET}, got ${bucket}`);
    }
    for (let j = 0; j < i; j++) {
      if (ruleSlot(rules[j]) === ruleSlot(rules[i])) {
        throw new RangeError(
          `rate limit: two rules share the window ${windowMs} ms in bucket ${bucket}`,
        );
      }
    }
  }
}
