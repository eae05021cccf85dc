import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { parseEntry } from '@libs/net';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], {
    errorMap: () => ({ message: 'must be one of true, false, 1, 0, yes, no' }),
  })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** DATABASE_POOL_SIZE=auto: 2 x CPU cores + 1. */
export function defaultPoolSize(cores: number = availableParallelism()): number {
  return 2 * cores + 1;
}

const postgresUrl = z
  .string()
  .url('must be a URL such as postgres://user:pass@host:5432/db')
  .refine((u) => /^postgres(ql)?:\/\//.test(u), 'must start with postgres:// or postgresql://');

const redisUrl = z
  .string()
  .url('must be a URL such as redis://host:6379')
  .refine((u) => /^rediss?:\/\//.test(u), 'must start with redis:// or rediss://');

/** A comma-separated list of IP addresses and CIDRs (no /0), validated at boot. */
const cidrList = (zeroMeans: string) =>
  z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .superRefine((entries, ctx) => {
      for (const e of entries) {
        const parsed = parseEntry(e);
        if (!parsed.ok) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            message: `"${e}" is ${parsed.problem === 'invalid' ? 'not an IP address or CIDR' : `a /0, which would ${zeroMeans}`}`,
          });
        }
      }
    });

/** Every setting Quiver reads, with its default. .env.example documents each one. */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(0, 65535).default('3000'),
  HOST: z.string().min(1).default('0.0.0.0'),
  API_PROCESSES: z
    .union([z.literal('auto'), int(1, 64)])
    .default('1')
    .transform((v) => (v === 'auto' ? availableParallelism() : v)),
  /**
   * A process whose event loop has not turned for this long kills itself (SIGKILL) so that its
   * supervisor replaces it (not with the embedded database); with API_PROCESSES > 1 the primary
   * also kills a worker that has not answered its heartbeat for this long (0: neither). Well above
   * any GC pause or slow request.
   */
  STALL_TIMEOUT_MS: int(0, 3_600_000)
    .refine((v) => v === 0 || v >= 1000, 'must be 0 (off) or at least 1000')
    .default('30000'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_REQUESTS: bool.default('true'),
  /** `npm run bench` only: mounts the tenant-context baseline route (src/bench-support). */
  BENCH_ROUTES: bool.default('false'),
  /**
   * With BENCH_ROUTES: the baseline route's login, a role with BYPASSRLS and SELECT on collections
   * only (scripts/local-database.ts grantBenchBaseline makes it), so it reads the same rows as the API
   * without any tenant context.
   */
  BENCH_BASELINE_DATABASE_URL: postgresUrl.optional(),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_OWNER_URL: postgresUrl.optional(),
  /**
   * Connections per process. 'auto' (the default) is 2 x CPU cores + 1, the usual rule of thumb
   * for PostgreSQL (its wiki's pool-sizing page; Prisma's default): more backends running at once
   * than the database has cores only makes each query dearer. On this 2-core machine, 10 searches
   * in flight through a pool of 4 cost PostgreSQL 2,400 us each against 3,000-3,800 through a pool
   * of 10, and the API served 20-50% more of them (docs/decisions.md 91).
   */
  DATABASE_POOL_SIZE: z
    .union([z.literal('auto'), int(1, 500)])
    .default('auto')
    .transform((v) => (v === 'auto' ? defaultPoolSize() : v)),
  /**
   * How long a pooled connection may sit idle before it is closed (0: never). A fresh PostgreSQL
   * backend pays a one-time catalogue load per collection partition it touches (about 20 ms for its
   * first query with 1,000 partitions), so connections are kept much longer than pg's 10 s default.
   */
  DATABASE_IDLE_TIMEOUT_MS: int(0, 86_400_000).default('300000'),
  /**
   * Prepare the statements of the one-message tenant reads once per pooled connection (Db.tenantRead).
   * Turn off behind a pooler that shares server sessions between clients (PgBouncer in transaction
   * mode); the embedded database never uses them.
   */
  DATABASE_PREPARED_STATEMENTS: bool.default('true'),
  MIGRATIONS_RUN: bool.default('false'),
  EMBEDDED_DATA_DIR: z.string().min(1).default('./data'),
  REDIS_URL: redisUrl.optional(),
  QUEUE_PREFIX: z
    .string()
    .regex(/^\{[A-Za-z0-9_.:-]{1,64}\}$/, 'must be a Redis Cluster hash tag such as {quiver}')
    .default('{quiver}'),
  QUIVER_BOOTSTRAP_TOKEN: z.string().optional(),
  QUIVER_KEY_ENV: z.enum(['live', 'test']).default('live'),
  QUIVER_ENCRYPTION_KEY: z
    .string()
    .refine(
      (v) => Buffer.from(v, /[-_]/.test(v) ? 'base64url' : 'base64').length === 32,
      'must be 32 random bytes in base64 (openssl rand -base64 32)',
    )
    .optional(),
  API_KEY_CACHE_TTL_MS: int(0, 300_000).default('60000'),
  TENANT_PURGE_GRACE_HOURS: int(0, 24 * 365).default('168'),
  PURGE_SCAN_INTERVAL_MS: int(1000, 86_400_000).default('60000'),
  BODY_LIMIT_BYTES: int(1024, 1024 * 1024 * 1024).default('33554432'),
  HNSW_M: int(2, 100).default('16'),
  HNSW_EF_CONSTRUCTION: int(4, 1000).default('64'),
  HNSW_EF_SEARCH: int(1, 1000).default('100'),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default('10000'),
  SIGNATURE_MAX_SKEW_SECONDS: int(1, 3600).default('300'),
  AUTH_ISSUER: z.string().min(1).max(200).default('quiver'),
  AUTH_ACCESS_TOKEN_TTL_SECONDS: int(60, 3600).default('900'),
  AUTH_REFRESH_TOKEN_TTL_SECONDS: int(300, 90 * 86_400).default('1209600'),
  AUTH_LOGIN_PER_MINUTE: int(0, 100_000).default('10'),
  PUBLIC_URL: z
    .string()
    .url('must be the URL clients reach Quiver at, such as https://quiver.example.com')
    .refine((u) => /^https?:\/\/[^/]+$/.test(u.replace(/\/$/, '')), 'must be an origin, no path')
    .optional(),
  SSO_ALLOW_HTTP_ISSUERS: bool.default('false'),
  /**
   * SSO connections (OIDC issuers and their endpoints, LDAP directories) may reach loopback, private,
   * link-local and other non-public addresses. Off: a tenant admin cannot point Quiver at its own
   * network (SSRF). Unspecified, broadcast and multicast addresses stay refused either way.
   */
  SSO_ALLOW_PRIVATE_ADDRESSES: bool.default('false'),
  /** Non-public ranges SSO connections may reach without opening them all (an on-premise IdP's subnet). */
  SSO_ALLOWED_PRIVATE_CIDRS: cidrList('open every address'),
  SAML_CLOCK_SKEW_SECONDS: int(0, 300).default('60'),
  SSO_LDAP_TIMEOUT_MS: int(500, 60_000).default('10000'),
  AUTH_REFRESH_PER_MINUTE: int(0, 100_000).default('60'),
  RATE_LIMIT_ENABLED: bool.default('true'),
  RATE_LIMIT_REDIS_DOWN: z.enum(['open', 'closed']).default('open'),
  RATE_LIMIT_REDIS_DOWN_SENSITIVE: z.enum(['closed', 'open']).default('closed'),
  RATE_LIMIT_FALLBACK_SHARE: z
    .string()
    .regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'must be a number above 0 and at most 1, such as 0.5')
    .transform(Number)
    .pipe(z.number().gt(0, 'must be above 0').max(1))
    .default('1'),
  RATE_LIMIT_REDIS_TIMEOUT_MS: int(1, 10_000).default('250'),
  RATE_LIMIT_PLATFORM_PER_MINUTE: int(0, 1_000_000).default('3000'),
  QUOTA_WARNING_PERCENT: int(1, 100).default('80'),
  USAGE_FLUSH_INTERVAL_MS: int(100, 3_600_000).default('10000'),
  METRICS_TENANT_LABELS: int(0, 10_000).default('0'),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  QUOTA_RECONCILE_INTERVAL_MS: int(60_000, 7 * 86_400_000).default('3600000'),
  TRUSTED_PROXIES: cidrList('trust every peer'),
});

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {}

/**
 * Parses the environment once at boot. Empty strings count as unset, so `FOO=` in a .env
 * file means "use the default" rather than "invalid".
 */
export function parseEnv(source: NodeJS.ProcessEnv): Env {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = source[key];
    if (value !== undefined && value.trim() !== '') cleaned[key] = value.trim();
  }
  const result = envSchema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const env = result.data;
  if (env.API_PROCESSES > 1 && (!env.DATABASE_URL || !env.REDIS_URL)) {
    // Embedded PostgreSQL lives in one process, and without Redis the replay cache, login state and
    // in-process jobs would be per process: several api processes need both servers.
    throw new ConfigError(
      'Invalid configuration:\n  API_PROCESSES: more than one api process needs DATABASE_URL and REDIS_URL',
    );
  }
  if (env.BENCH_ROUTES && !env.BENCH_BASELINE_DATABASE_URL) {
    throw new ConfigError(
      'Invalid configuration:\n  BENCH_ROUTES: BENCH_ROUTES=true needs BENCH_BASELINE_DATABASE_URL ' +
        '(a BYPASSRLS login with SELECT on collections: scripts/local-database.ts grantBenchBaseline)',
    );
  }
  return env;
}
