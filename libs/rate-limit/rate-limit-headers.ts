/*
 * Field syntax of draft-ietf-httpapi-ratelimit-headers-11 (23 May 2026), sections 3 and 4:
 *   RateLimit-Policy: "1s";q=20;w=1, "1m";q=600;w=60
 *   RateLimit: "1m";r=0;t=42
 * Both are Structured Field Lists; a policy's identifier MUST be an sf-string, q (quota) and r
 * (available quota) non-negative Integers, w and t Integer seconds. w must be non-zero and sub-second
 * precision is not supported, so a window that is not a whole number of seconds omits w (it is
 * OPTIONAL). t is "the number of seconds within which the client can use no more than the available
 * quota": for a sliding log, until the oldest admission expires. Retry-After, when sent, should not
 * point before the end of t; both come from the same rule here, so they agree.
 */
import type { Decision, RuleDecision, WindowRule } from './rate-limit';

const UNITS: Array<[ms: number, suffix: string]> = [
  [86_400_000, 'd'],
  [3_600_000, 'h'],
  [60_000, 'm'],
  [1_000, 's'],
];

/** The policy identifier: the rule's name, else its window ('1s', '1m', '250ms'). */
export function policyName(rule: WindowRule): string {
  if (rule.name !== undefined) return rule.name;
  for (const [ms, suffix] of UNITS) {
    if (rule.windowMs % ms === 0) return `${rule.windowMs / ms}${suffix}`;
  }
  return `${rule.windowMs}ms`;
}

/** An sf-string (RFC 9651 3.3.3): printable ASCII only, with '"' and '\' escaped. */
function sfString(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '_');
  return `"${printable.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

function seconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/** Seconds in which the client can use no more than `remaining`: a whole window when nothing is logged. */
function effectiveWindow(entry: RuleDecision): number {
  return seconds(entry.resetMs > 0 ? entry.resetMs : entry.rule.windowMs);
}

/**
 * The rule the client will hit first: least remaining, and among equals the one that frees up last (so
 * on a refusal it is the rule that sets Retry-After).
 */
function mostConstrained(rules: readonly RuleDecision[]): RuleDecision {
  let pick = rules[0];
  for (const entry of rules) {
    if (
      entry.remaining < pick.remaining ||
      (entry.remaining === pick.remaining && entry.resetMs > pick.resetMs)
    ) {
      pick = entry;
    }
  }
  return pick;
}

/**
 * Response header fields for a decision: RateLimit-Policy for every rule, RateLimit for the most
 * constrained one, the same as X-RateLimit-Limit / -Remaining / -Reset (delta seconds) for older
 * clients, and Retry-After (seconds, rounded up) on a refusal.
 */
export function rateLimitHeaders(decision: Decision): Record<string, string> {
  const headers: Record<string, string> = {};
  if (decision.rules.length > 0) {
    headers['RateLimit-Policy'] = decision.rules
      .map(({ rule }) => {
        const w = rule.windowMs % 1000 === 0 ? `;w=${rule.windowMs / 1000}` : '';
        return `${sfString(policyName(rule))};q=${rule.limit}${w}`;
      })
      .join(', ');
    const pick = mostConstrained(decision.rules);
    const t = effectiveWindow(pick);
    headers['RateLimit'] = `${sfString(policyName(pick.rule))};r=${pick.remaining};t=${t}`;
    headers['X-RateLimit-Limit'] = String(pick.rule.limit);
    headers['X-RateLimit-Remaining'] = String(pick.remaining);
    headers['X-RateLimit-Reset'] = String(t);
  }
  if (!decision.allowed) {
    headers['Retry-After'] = String(Math.max(1, seconds(decision.retryAfterMs)));
  }
  return headers;
}
