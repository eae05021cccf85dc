import { z } from 'zod';
import { MAX_BUCKET, type WindowRule } from '@libs/rate-limit';

/**
 * What a tenant may spend, per endpoint class and in total. Every request of a tenant counts against
 * the tenant-wide rules and against its class's rules, in one atomic decision (one Redis call): the
 * tenant-wide logs are shared by all classes, each class has logs of its own.
 */
export const ENDPOINT_CLASSES = ['search', 'read', 'write', 'admin'] as const;
export type EndpointClass = (typeof ENDPOINT_CLASSES)[number];

/** The rule sets a policy is made of: 'tenant' (every request) and one per endpoint class. */
export const RATE_LIMIT_SCOPES = ['tenant', ...ENDPOINT_CLASSES] as const;
export type RateLimitScope = (typeof RATE_LIMIT_SCOPES)[number];

/** A window as written in settings: a whole number of seconds, minutes, hours or days. */
const WINDOW = /^([1-9]\d{0,4})(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MIN_WINDOW_MS = 1000;
const MAX_WINDOW_MS = 86_400_000;
export const MAX_RULES_PER_SCOPE = 4;

export function windowMs(window: string): number | undefined {
  const m = WINDOW.exec(window);
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms >= MIN_WINDOW_MS && ms <= MAX_WINDOW_MS ? ms : undefined;
}

const ruleSchema = z
  .object({
    /** Requests admitted in any interval of `window`. */
    limit: z.number().int().min(1).max(100_000_000),
    /** '1s', '10s', '1m', '1h', '1d': from one second to one day. */
    window: z
      .string()
      .refine((w) => windowMs(w) !== undefined, 'must be like 1s, 30s, 1m, 1h or 1d (1s to 1d)'),
  })
  .strict();

const rulesSchema = z
  .array(ruleSchema)
  .min(1, 'at least one rule: a scope cannot be made unlimited from settings')
  .max(MAX_RULES_PER_SCOPE)
  .superRefine((rules, ctx) => {
    const seen = new Set<number>();
    rules.forEach((r, i) => {
      const ms = windowMs(r.window);
      if (ms === undefined) return;
      if (seen.has(ms)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: [i, 'window'],
          message: 'two rules with the same window: keep the stricter one',
        });
      }
      seen.add(ms);
    });
  });

/**
 * The `rateLimits` section of the tenant settings: a scope listed here replaces the plan's rules for
 * that scope; scopes not listed keep the plan's.
 */
export const rateLimitSettingsSchema = z
  .object(
    Object.fromEntries(RATE_LIMIT_SCOPES.map((s) => [s, rulesSchema.optional()])) as Record<
      RateLimitScope,
      z.ZodOptional<typeof rulesSchema>
    >,
  )
  .strict();

export type RateLimitSettings = z.infer<typeof rateLimitSettingsSchema>;
export type RuleSetting = z.infer<typeof ruleSchema>;

const perSecondAndMinute = (second: number, minute: number): RuleSetting[] => [
  { limit: second, window: '1s' },
  { limit: minute, window: '1m' },
];

/**
 * The built-in defaults per plan name, under the plans table's searchesPerSecond and requestsPerDay
 * (which replace the search 1 s rule and add a tenant 1 d rule). A tenant's settings override them
 * scope by scope. Writes and admin calls cost
 * more than reads, so they get less; every plan caps admin calls (key minting among them) low.
 */
export const PLAN_RATE_LIMITS: Record<string, Record<RateLimitScope, RuleSetting[]>> = {
  free: {
    tenant: perSecondAndMinute(50, 1_500),
    search: perSecondAndMinute(10, 600),
    read: perSecondAndMinute(50, 1_500),
    write: perSecondAndMinute(20, 600),
    admin: perSecondAndMinute(5, 60),
  },
  pro: {
    tenant: perSecondAndMinute(500, 20_000),
    search: perSecondAndMinute(200, 10_000),
    read: perSecondAndMinute(500, 20_000),
    write: perSecondAndMinute(200, 10_000),
    admin: perSecondAndMinute(20, 600),
  },
  enterprise: {
    tenant: perSecondAndMinute(5_000, 200_000),
    search: perSecondAndMinute(2_000, 100_000),
    read: perSecondAndMinute(5_000, 200_000),
    write: perSecondAndMinute(2_000, 100_000),
    admin: perSecondAndMinute(50, 1_500),
  },
};

/** A tenant's policy, compiled once per key-cache fill: the rule list each endpoint class consumes. */
export interface TenantRateLimitPolicy {
  /** Rules for a request of each class: the tenant-wide ones (bucket 0), then the class's own. */
  rules: Record<EndpointClass, WindowRule[]>;
}

function compileScope(scope: RateLimitScope, settings: RuleSetting[]): WindowRule[] {
  const bucket = RATE_LIMIT_SCOPES.indexOf(scope);
  if (bucket > MAX_BUCKET) throw new Error('too many rate limit scopes');
  return settings.map((s) => ({
    limit: s.limit,
    windowMs: windowMs(s.window)!,
    bucket,
    name: `${scope}-${s.window}`,
  }));
}

/**
 * The two rate-shaped limits of the tenant's plan (the plans table, or the tenant's quotas override):
 * null or absent leaves the built-in default.
 */
export interface PlanRateLimits {
  searchesPerSecond?: number | null;
  requestsPerDay?: number | null;
}

/**
 * The columns a tenant's policy is compiled from (policyFromRow), for the queries that load it: tenant
 * `t` joined to its plan `p` (`LEFT JOIN plans p ON p.name = t.plan`). searchesPerSecond and
 * requestsPerDay are the tenant's quotas override when it names the limit, else the plan's.
 */
export const TENANT_POLICY_COLUMNS = [
  `t.plan AS policy_plan`,
  `t.settings -> 'rateLimits' AS policy_rate_limits`,
  ...['searchesPerSecond', 'requestsPerDay'].map(
    (name) =>
      `CASE WHEN t.settings #> '{quotas,limits}' ? '${name}' THEN t.settings #> '{quotas,limits,${name}}' ` +
      `ELSE p.limits -> '${name}' END AS policy_${name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`,
  ),
].join(', ');

export interface TenantPolicyRow {
  policy_plan: string;
  policy_rate_limits: unknown;
  policy_searches_per_second: number | null;
  policy_requests_per_day: number | null;
}

/** The policy of a row that selected TENANT_POLICY_COLUMNS. */
export function policyFromRow(row: TenantPolicyRow): TenantRateLimitPolicy {
  return compilePolicy(row.policy_plan, row.policy_rate_limits, {
    searchesPerSecond: row.policy_searches_per_second,
    requestsPerDay: row.policy_requests_per_day,
  });
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 ? value : undefined;
}

/**
 * The rules of a tenant: the built-in defaults of its plan name, then the plan's searchesPerSecond
 * (the search class's 1 s rule) and requestsPerDay (a tenant-wide 1 d rule), then the tenant's
 * rateLimits settings, scope by scope. An unknown plan gets the free defaults and a settings section
 * that does not parse (written around the API) is ignored: neither can make a tenant unlimited.
 */
export function compilePolicy(
  plan: string,
  overrides: unknown,
  planLimits: PlanRateLimits = {},
): TenantRateLimitPolicy {
  const defaults = PLAN_RATE_LIMITS[plan] ?? PLAN_RATE_LIMITS.free;
  const base: Record<RateLimitScope, RuleSetting[]> = { ...defaults };
  const sps = positive(planLimits.searchesPerSecond);
  if (sps !== undefined) {
    base.search = [{ limit: sps, window: '1s' }, ...base.search.filter((r) => r.window !== '1s')];
  }
  const rpd = positive(planLimits.requestsPerDay);
  if (rpd !== undefined) {
    base.tenant = [
      ...base.tenant.filter((r) => windowMs(r.window) !== 86_400_000),
      { limit: rpd, window: '1d' },
    ];
  }
  const parsed = overrides == null ? undefined : rateLimitSettingsSchema.safeParse(overrides);
  const custom: RateLimitSettings = parsed?.success ? parsed.data : {};
  const tenantRules = compileScope('tenant', custom.tenant ?? base.tenant);
  const rules = {} as Record<EndpointClass, WindowRule[]>;
  for (const cls of ENDPOINT_CLASSES) {
    rules[cls] = [...tenantRules, ...compileScope(cls, custom[cls] ?? base[cls])];
  }
  return { rules };
}

/** Scales every limit to a share of itself (at least 1): the per-process cap while Redis is down. */
export function shareOf(rules: readonly WindowRule[], share: number): WindowRule[] {
  return rules.map((r) => ({ ...r, limit: Math.max(1, Math.floor(r.limit * share)) }));
}
