/*
 * Test support (not exported from index.ts): a brute-force checker of the guarantee, a brute-force
 * reference of the decision, seeded arrival sequences, and the two algorithms the checker must catch.
 * Written independently of sliding-log.ts, on plain arrays, so a shared bug cannot hide.
 */
import { quantumMs, type WindowRule } from './rate-limit';

/** The most admissions inside any interval [s, s + windowMs), by trying every admission as s. */
export function maxInAnyWindow(admitted: readonly number[], windowMs: number): number {
  let max = 0;
  for (const start of admitted) {
    let inside = 0;
    for (const t of admitted) if (t >= start && t < start + windowMs) inside++;
    max = Math.max(max, inside);
  }
  return max;
}

export interface ReferenceDecision {
  allowed: boolean;
  remaining: number[];
  resetMs: number[];
  retryAfterMs: number;
}

/**
 * The sliding log by definition: an admission at a counts at t while ceil(a / q) * q > t - windowMs
 * (q = 1 ms below 2 s windows, i.e. plain a > t - windowMs). O(n) per decision, no incremental state.
 */
export class ReferenceLimiter {
  private readonly admitted: number[] = [];

  decide(now: number, rules: readonly WindowRule[]): ReferenceDecision {
    const live = rules.map((rule) => {
      const q = quantumMs(rule.windowMs);
      return this.admitted
        .map((a) => Math.ceil(a / q) * q)
        .filter((at) => at > now - rule.windowMs)
        .sort((x, y) => x - y);
    });
    const allowed = rules.every((rule, i) => live[i].length < rule.limit);
    if (allowed) {
      this.admitted.push(now);
      rules.forEach((rule, i) => {
        const q = quantumMs(rule.windowMs);
        live[i].push(Math.ceil(now / q) * q);
      });
    }
    const resetMs = rules.map((rule, i) => {
      const log = live[i];
      if (log.length === 0) return 0;
      // The slot that must expire for one more admission: the oldest below the limit, else the one
      // that brings the count down to limit - 1.
      const index = log.length < rule.limit ? 0 : log.length - rule.limit;
      return log[index] + rule.windowMs - now;
    });
    const retryAfterMs = allowed
      ? 0
      : Math.max(...rules.map((rule, i) => (live[i].length >= rule.limit ? resetMs[i] : 0)));
    return {
      allowed,
      remaining: rules.map((rule, i) => Math.max(0, rule.limit - live[i].length)),
      resetMs,
      retryAfterMs,
    };
  }
}

export { seededRandom } from '@libs/prng';

/**
 * Non-decreasing arrival times mixing bursts (many requests in one millisecond), steady trickles and
 * idle gaps around the window lengths, which is where boundary bugs live.
 */
export function randomArrivals(random: () => number, count: number, windowMs: number): number[] {
  const times: number[] = [];
  let t = Math.floor(random() * 5000);
  while (times.length < count) {
    const r = random();
    if (r < 0.15) {
      const burst = 1 + Math.floor(random() * 12);
      for (let i = 0; i < burst; i++) times.push(t);
    } else if (r < 0.25) {
      // Land just before, on, or just after a window boundary relative to now.
      t += Math.max(0, windowMs + Math.floor(random() * 5) - 2);
      times.push(t);
    } else if (r < 0.3) {
      t += Math.floor(random() * windowMs * 3);
      times.push(t);
    } else {
      t += Math.floor(random() * (windowMs / 8 + 2));
      times.push(t);
    }
  }
  return times.slice(0, count);
}

/**
 * A random rule set of one to three windows, each window distinct; a third of the sets also repeat one
 * window in another bucket (a tenant-wide and a per-class rule of the same length).
 */
export function randomRules(random: () => number): WindowRule[] {
  const windows = [1, 3, 10, 50, 100, 250, 1000, 1999, 2000, 5000, 60_000];
  const count = 1 + Math.floor(random() * 3);
  const picked = new Set<number>();
  while (picked.size < count) picked.add(windows[Math.floor(random() * windows.length)]);
  const rules: WindowRule[] = [...picked].map((windowMs) => ({
    windowMs,
    limit: 1 + Math.floor(random() * 15),
  }));
  if (random() < 1 / 3) {
    const twin = rules[Math.floor(random() * rules.length)];
    rules.push({ windowMs: twin.windowMs, limit: 1 + Math.floor(random() * 15), bucket: 7 });
  }
  return rules;
}

/** GCRA with burst = limit (emission interval windowMs / limit, tolerance windowMs - interval). */
export function gcraAdmissions(arrivals: readonly number[], rule: WindowRule): number[] {
  const interval = rule.windowMs / rule.limit;
  const tolerance = rule.windowMs - interval;
  let tat = -Infinity;
  const admitted: number[] = [];
  for (const t of arrivals) {
    const theoretical = Math.max(tat, t);
    if (theoretical - t <= tolerance) {
      tat = theoretical + interval;
      admitted.push(t);
    }
  }
  return admitted;
}

/** A fixed window counter, windows aligned to multiples of windowMs. */
export function fixedWindowAdmissions(arrivals: readonly number[], rule: WindowRule): number[] {
  const counts = new Map<number, number>();
  const admitted: number[] = [];
  for (const t of arrivals) {
    const slot = Math.floor(t / rule.windowMs);
    const used = counts.get(slot) ?? 0;
    if (used < rule.limit) {
      counts.set(slot, used + 1);
      admitted.push(t);
    }
  }
  return admitted;
}
