/*
 * The algorithm, shared by both stores (redis-rate-limit-store.ts runs the same steps in Lua).
 *
 * Guarantee wanted: for every rule, never more than `limit` admissions in ANY interval of `windowMs`.
 *
 * - A fixed window lets 2 x limit through across a boundary (limit at the end of one window, limit at
 *   the start of the next).
 * - GCRA with burst = limit is not exact either: it lets `limit` through at once and then one more
 *   every windowMs / limit, so an interval of windowMs can hold 2 x limit - 1. Making it exact means
 *   burst = 1 (strict pacing), which refuses the bursts a per-window quota promises.
 * - Any rule that is exact AND admits whenever fewer than `limit` were admitted in the trailing window
 *   must remember when each of those (up to `limit`) admissions happened, since each one frees its
 *   slot at its own time. So no O(1)-memory counter is both exact and faithful; the log it is.
 *
 * The log, made cheap: per rule, a queue of (recordTime, count) runs, oldest first, plus their total.
 * - Admit at `now` iff for EVERY rule the total of runs with recordTime > now - windowMs is < limit.
 *   Runs at or below the cutoff are popped from the old end: O(1) amortised, no O(log n) sorted set.
 * - On admission, add 1 to every rule: to the newest run if it has the same recordTime, else a new run.
 *   recordTime is `now` rounded up to the rule's quantum (rate-limit.ts), so a window holds at most
 *   2,000 runs whatever the limit, and never more than the number of admissions in it.
 * - `now` never goes backwards per key: it is max(clock, last time seen), so runs stay sorted and a run
 *   popped at `now` can never be needed again by a later call with an earlier clock.
 *
 * Why it is exact: take any interval [s, s + windowMs) and the last admission in it, at time t. Every
 * other admission a in it has s <= a <= t, so its recordTime >= a > t - windowMs: none was popped and
 * all were counted when t was decided. t was admitted, so they numbered at most limit - 1, and the
 * interval holds at most `limit`. This needs the decisions to be taken one at a time in clock order,
 * which one Lua script per call (atomic in Redis) and one clock (Redis TIME, clamped to be monotonic)
 * give across any number of processes.
 *
 * And why it is not stricter than it must be: a refusal at t means some rule counted `limit` runs'
 * worth with recordTime > t - windowMs, i.e. `limit` real admissions in (t - windowMs - quantum + 1, t]:
 * the plain sliding log, to the millisecond for windows under 2 s.
 */
import { quantumMs, recordTime, type WindowRule } from './rate-limit';

/** The admission log of one rule under one key. */
export class SlidingLog {
  private times: number[] = [];
  private counts: number[] = [];
  /** Index of the oldest live run; popped runs are compacted away in batches. */
  private head = 0;
  private sum = 0;

  get total(): number {
    return this.sum;
  }

  get runs(): number {
    return this.times.length - this.head;
  }

  /** Drops the runs that no longer count at `now`. */
  expire(now: number, windowMs: number): void {
    const cutoff = now - windowMs;
    const { times, counts } = this;
    let head = this.head;
    while (head < times.length && times[head] <= cutoff) {
      this.sum -= counts[head];
      head++;
    }
    if (head === times.length) {
      this.times = [];
      this.counts = [];
      this.head = 0;
      this.sum = 0;
    } else if (head > 1024 && head * 2 > times.length) {
      this.times = times.slice(head);
      this.counts = counts.slice(head);
      this.head = 0;
    } else {
      this.head = head;
    }
  }

  record(now: number, windowMs: number): void {
    const at = recordTime(now, quantumMs(windowMs));
    const last = this.times.length - 1;
    if (last >= this.head && this.times[last] === at) {
      this.counts[last]++;
    } else {
      this.times.push(at);
      this.counts.push(1);
    }
    this.sum++;
  }

  /** When the newest run stops counting: after it the log is empty. */
  expiresAt(windowMs: number): number {
    return this.runs === 0 ? 0 : this.times[this.times.length - 1] + windowMs;
  }

  /**
   * resetMs of RuleDecision, after expire(now): below the limit, until the oldest run expires; at or
   * over it (over when the limit was lowered), until enough runs expire to bring the total under it.
   */
  resetMs(now: number, rule: WindowRule): number {
    if (this.sum === 0) return 0;
    const mustExpire = this.sum < rule.limit ? 1 : this.sum - rule.limit + 1;
    let expired = 0;
    for (let i = this.head; i < this.times.length; i++) {
      expired += this.counts[i];
      if (expired >= mustExpire) return this.times[i] + rule.windowMs - now;
    }
    return this.times[this.times.length - 1] + rule.windowMs - now;
  }
}
