/**
 * What a plan limits. `null` means unlimited. Counted resources have a usage counter in
 * quota_usage, kept in the same transaction as the write; the others are checked where they apply
 * (dimensionsPerCollection at collection creation) or enforced elsewhere (requestsPerDay and
 * searchesPerSecond by the gateway's rate limiter; webhookEndpoints once webhooks exist).
 */
export const LIMIT_NAMES = [
  'collections',
  'vectors',
  'dimensionsPerCollection',
  'storedBytes',
  'requestsPerDay',
  'searchesPerSecond',
  'apiKeys',
  'webhookEndpoints',
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

export type PlanLimits = Record<LimitName, number | null>;

/**
 * Resources with a counter. The order is the lock order: every transaction that moves more than
 * one counter moves them in this (alphabetical) order, so two writers never wait on each other
 * in a cycle.
 */
export const COUNTED_RESOURCES = ['apiKeys', 'collections', 'storedBytes', 'vectors'] as const;
export type CountedResource = (typeof COUNTED_RESOURCES)[number];

export function isCounted(name: LimitName): name is CountedResource {
  return (COUNTED_RESOURCES as readonly string[]).includes(name);
}

/** Plan names: lowercase letters, digits, hyphens and underscores, 1-63 characters. */
export const PLAN_NAME_RE = /^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$/;

/** The largest limit a plan can state (JSON numbers above this lose precision). */
export const MAX_LIMIT = Number.MAX_SAFE_INTEGER;

export type LimitSource = 'plan' | 'override';

export interface EffectiveLimit {
  limit: number | null;
  source: LimitSource;
}

/**
 * The tenant's limits: its plan's, with each limit the tenant's settings name (quotas.limits)
 * replacing the plan's. An override of null lifts the limit; an absent one keeps the plan's.
 */
export function effectiveLimits(
  plan: Partial<PlanLimits>,
  overrides: Partial<PlanLimits> | undefined,
): Record<LimitName, EffectiveLimit> {
  const out = {} as Record<LimitName, EffectiveLimit>;
  for (const name of LIMIT_NAMES) {
    out[name] =
      overrides && Object.prototype.hasOwnProperty.call(overrides, name)
        ? { limit: overrides[name] ?? null, source: 'override' }
        : { limit: plan[name] ?? null, source: 'plan' };
  }
  return out;
}

/** The usage at which a warning fires: warningPercent of the limit, rounded up. */
export function warningThreshold(limit: number, warningPercent: number): number {
  return Math.ceil((limit * warningPercent) / 100);
}

/**
 * What a write did to one counter, and what follows: refused when it raised usage above the
 * limit; a warning when it crossed the threshold upwards (once per crossing: the counter's row
 * lock orders the writers, so exactly one of them sees before < threshold <= after).
 */
export function judge(
  after: number,
  delta: number,
  limit: number | null,
  warningPercent: number,
): 'refuse' | 'warn' | 'ok' {
  if (limit === null || delta <= 0) return 'ok';
  if (after > limit) return 'refuse';
  const threshold = warningThreshold(limit, warningPercent);
  return after - delta < threshold && after >= threshold ? 'warn' : 'ok';
}
