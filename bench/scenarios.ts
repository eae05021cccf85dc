import { performance } from 'node:perf_hooks';
import { envSchema } from '@app/config/config.schema';
import { APP_ROLE, tenantSetupSql } from '@app/database/db';
import { toVectorLiteral } from '@app/vectors/vector-validation';
import { searchSql } from '@app/vectors/vectors.service';
import {
  ApiClient,
  ApiError,
  CollectionInfo,
  mapLimit,
  NO_REFUSALS,
  SearchBody,
} from './api-client';
import { ClusteredData } from './dataset';
import { BenchDatabase, vacuumAnalyze } from './database';
import { LoadGenerator } from './loadgen-client';
import { cpuBetween, CpuSnapshot, CpuSources, cpuSnapshot } from './cpu';
import type { HttpTarget, HttpTask, LoadTask, SqlStep, SqlTask } from './loadgen-protocol';
import type { Profile } from './options';
import { Rng } from './prng';
import { sleep } from './server';
import type { CpuUsage, Dataset, Goal, Measurement, Recall, Row, RowGroup } from './results-schema';
import { LatencyRecorder, round3 } from './stats';

/** The server's default ef_search: the bench sets no HNSW_EF_SEARCH and no tenant setting. */
export const DEFAULT_EF_SEARCH = envSchema.shape.HNSW_EF_SEARCH.parse(undefined);
/** The server's database pool per process: the bench leaves DATABASE_POOL_SIZE at its default. */
const POOL_SIZE = envSchema.shape.DATABASE_POOL_SIZE.parse(undefined);
const TOP_K = 10;
const RECALL_GOAL = 0.95;
/** The columns CollectionsService.list selects. */
const COLLECTION_COLUMNS = 'tenant_id, id, name, dimension, metric, index_kind, created_at';

export interface BenchContext {
  profile: Profile;
  api: ApiClient;
  loadgen: LoadGenerator;
  db: BenchDatabase;
  /** Measure efSearch 200 even when the default meets the recall goal. */
  measureEf200: boolean;
  /** Which processes' CPU the rows account for. */
  cpu: CpuSources;
  /** API_PROCESSES of the server ctx.api talks to. */
  serverProcesses: number;
  /** Settings that server has beyond the bench's own (serverEnv): none for the main server. */
  serverSettings: Record<string, string>;
  data: ClusteredData;
  rows: Row[];
  goals: Goal[];
  notes: string[];
  log: (message: string) => void;
}

interface Tenant {
  id: string;
  key: string;
  collection: CollectionInfo;
}

interface RowSpec {
  id: string;
  group: RowGroup;
  label: string;
  description: string;
  concurrency: number;
}

// ------------------------------------------------------------------------------ measuring

/** Runs a task in the load generator and adds the CPU accounting of its measured window. */
async function measure(
  ctx: BenchContext,
  task: LoadTask,
): Promise<Measurement & { latencies?: number[] }> {
  const window: { start: CpuSnapshot | null } = { start: null };
  const result = await ctx.loadgen.run(task, () => {
    window.start = cpuSnapshot(ctx.cpu);
  });
  const end = cpuSnapshot(ctx.cpu);
  return {
    ...result,
    cpu: window.start && end ? cpuBetween(window.start, end, result.requests) : null,
  };
}

type HttpRowSpec = RowSpec & { targets: HttpTarget[]; bodies: string[] };

/** The load-generator task of an HTTP row; `timing` overrides the profile's warm-up and duration. */
function httpTask(
  ctx: BenchContext,
  spec: HttpRowSpec,
  timing: Partial<Pick<HttpTask, 'warmupSeconds' | 'warmupRequests' | 'durationSeconds'>> & {
    seedOffset?: number;
    keepLatencies?: boolean;
  } = {},
): HttpTask {
  return {
    kind: 'http',
    label: spec.id,
    origin: ctx.api.origin,
    connections: spec.concurrency,
    warmupSeconds: timing.warmupSeconds ?? ctx.profile.warmupSeconds,
    warmupRequests: timing.warmupRequests,
    durationSeconds: timing.durationSeconds ?? ctx.profile.runSeconds,
    targets: spec.targets,
    bodies: spec.bodies,
    seed: ctx.profile.seed + ctx.rows.length + (timing.seedOffset ?? 0),
    keepLatencies: timing.keepLatencies,
  };
}

/** Adds an HTTP row measured on ctx's server. */
function pushHttpRow(ctx: BenchContext, spec: HttpRowSpec, result: Measurement): Row {
  return pushRow(ctx, {
    ...spec,
    status: 'measured',
    via: 'http',
    serverProcesses: ctx.serverProcesses,
    ...(Object.keys(ctx.serverSettings).length > 0 ? { serverSettings: ctx.serverSettings } : {}),
    result,
    baselines: [],
  });
}

async function httpRow(
  ctx: BenchContext,
  spec: HttpRowSpec,
  timing: Parameters<typeof httpTask>[2] = {},
): Promise<Row> {
  ctx.log(`measuring ${spec.id} (http, ${spec.concurrency} connections)`);
  const result = await measure(ctx, httpTask(ctx, spec, timing));
  return pushHttpRow(ctx, spec, result);
}

/** Slices per row of an interleaved pair: A B B A A B B A, so a drift in the machine hits both alike. */
const INTERLEAVED_SLICES = 4;

/** The timing of one slice of an interleaved row. */
interface SliceTiming {
  warmupSeconds: number;
  warmupRequests: number;
  durationSeconds: number;
  seedOffset: number;
  keepLatencies: true;
}

/** A row as the interleaving sees it: its load task for a slice, and how the pooled result is kept. */
interface RowPlan {
  spec: RowSpec;
  via: 'http' | 'sql';
  task(timing: SliceTiming): LoadTask;
  push(result: Measurement): Row;
}

const httpPlan = (ctx: BenchContext, spec: HttpRowSpec): RowPlan => ({
  spec,
  via: 'http',
  task: (timing) => httpTask(ctx, spec, timing),
  push: (result) => pushHttpRow(ctx, spec, result),
});

const sqlPlan = (ctx: BenchContext, spec: SqlRowSpec): RowPlan => ({
  spec,
  via: 'sql',
  task: (timing) => sqlTask(ctx, spec, timing),
  push: (result) => pushSqlRow(ctx, spec, result),
});

/**
 * Two rows that are compared (an overhead in ms, a ratio of req/s), measured in alternating slices
 * (A B B A A B B A, each half the usual measured time, after one warm-up each) instead of back to
 * back: on a shared machine, other work that comes and goes then weighs on both rows alike rather
 * than on whichever happened to run at the time, and so does the state a previous row left behind
 * (PostgreSQL's buffer cache after the exact-search row, say). Each row's latencies are pooled over
 * its slices before the percentiles are taken; its CPU accounting is the request-weighted mean of
 * its slices'.
 */
async function interleavedRows(
  ctx: BenchContext,
  plans: readonly [RowPlan, RowPlan],
  /** Requests sent before each row's first slice, on top of the usual warm-up (none by default). */
  warmupRequests: readonly [number, number] = [0, 0],
): Promise<[Row, Row]> {
  const slices = plans.map(() => [] as Measurement[]);
  const latencies = plans.map(() => new LatencyRecorder());
  // Twice the usual measured time per row: their p99s are what is compared.
  const sliceSeconds = (ctx.profile.runSeconds * 2) / INTERLEAVED_SLICES;
  ctx.log(
    `measuring ${plans[0].spec.id} (${plans[0].via}) and ${plans[1].spec.id} (${plans[1].via}) ` +
      `interleaved (${plans[0].spec.concurrency} connections, ${INTERLEAVED_SLICES} x ${sliceSeconds} s each)`,
  );
  const order = Array.from({ length: INTERLEAVED_SLICES * 2 }, (_, i) =>
    i % 4 === 0 || i % 4 === 3 ? 0 : 1,
  );
  for (const [i, which] of order.entries()) {
    const { latencies: values = [], ...result } = await measure(
      ctx,
      plans[which].task({
        // The first slice of each row warms up; the later ones reuse a warm server.
        warmupSeconds: i < 2 ? ctx.profile.warmupSeconds : 0,
        warmupRequests: i < 2 ? warmupRequests[which] : 0,
        durationSeconds: sliceSeconds,
        seedOffset: i,
        keepLatencies: true,
      }),
    );
    slices[which].push(result);
    for (const v of values) latencies[which].record(v);
  }
  const rows = plans.map((plan, k) => plan.push(pooled(slices[k], latencies[k])));
  return [rows[0], rows[1]];
}

/** interleavedRows for two HTTP rows. */
function interleavedHttpRows(
  ctx: BenchContext,
  specs: readonly [HttpRowSpec, HttpRowSpec],
  warmupRequests: readonly [number, number] = [0, 0],
): Promise<[Row, Row]> {
  return interleavedRows(ctx, [httpPlan(ctx, specs[0]), httpPlan(ctx, specs[1])], warmupRequests);
}

/** One measurement from the slices of an interleaved row. */
function pooled(slices: Measurement[], latencies: LatencyRecorder): Measurement {
  const seconds = slices.reduce((s, m) => s + m.durationSeconds, 0);
  const sum = (f: (m: Measurement) => number): number => slices.reduce((s, m) => s + f(m), 0);
  const statusCodes: Record<string, number> = {};
  for (const m of slices)
    for (const [code, n] of Object.entries(m.statusCodes))
      statusCodes[code] = (statusCodes[code] ?? 0) + n;
  const merged = latencies.measurement(
    seconds,
    {
      non2xx: sum((m) => m.errors.non2xx),
      socket: sum((m) => m.errors.socket),
      sql: sum((m) => m.errors.sql),
    },
    statusCodes,
  );
  return { ...merged, cpu: pooledCpu(slices) };
}

function pooledCpu(slices: Measurement[]): CpuUsage | null {
  if (slices.some((m) => m.cpu === null)) return null;
  const requests = slices.reduce((s, m) => s + m.requests, 0);
  const seconds = slices.reduce((s, m) => s + m.durationSeconds, 0);
  const weighted = (f: (c: CpuUsage) => number | null, digits: number): number | null => {
    if (slices.some((m) => f(m.cpu!) === null) || requests === 0) return null;
    const total = slices.reduce((s, m) => s + f(m.cpu!)! * m.requests, 0);
    const scale = 10 ** digits;
    return Math.round((total / requests) * scale) / scale;
  };
  return {
    serverUsPerRequest: weighted((c) => c.serverUsPerRequest, 0),
    serverWritesPerRequest: weighted((c) => c.serverWritesPerRequest, 2),
    postgresUsPerRequest: weighted((c) => c.postgresUsPerRequest, 0),
    loadgenUsPerRequest: weighted((c) => c.loadgenUsPerRequest, 0),
    otherCores:
      seconds > 0
        ? Math.round(
            (slices.reduce((s, m) => s + m.cpu!.otherCores * m.durationSeconds, 0) / seconds) * 100,
          ) / 100
        : 0,
  };
}

type SqlRowSpec = RowSpec & { steps: SqlStep[]; vectorPool: string[] };

/** The load-generator task of a raw SQL row; `timing` overrides the profile's warm-up and duration. */
function sqlTask(
  ctx: BenchContext,
  spec: SqlRowSpec,
  timing: Partial<Pick<SqlTask, 'warmupSeconds' | 'durationSeconds' | 'keepLatencies'>> & {
    seedOffset?: number;
  } = {},
): SqlTask {
  return {
    kind: 'sql',
    label: spec.id,
    connectionString: ctx.db.appUrl,
    concurrency: spec.concurrency,
    warmupSeconds: timing.warmupSeconds ?? ctx.profile.warmupSeconds,
    durationSeconds: timing.durationSeconds ?? ctx.profile.runSeconds,
    steps: spec.steps,
    vectorPool: spec.vectorPool,
    seed: ctx.profile.seed + ctx.rows.length + (timing.seedOffset ?? 0),
    keepLatencies: timing.keepLatencies,
  };
}

function pushSqlRow(ctx: BenchContext, spec: SqlRowSpec, result: Measurement): Row {
  return pushRow(ctx, {
    ...spec,
    status: 'measured',
    via: 'sql',
    serverProcesses: 1,
    result,
    baselines: [],
  });
}

async function sqlRow(ctx: BenchContext, spec: SqlRowSpec): Promise<Row> {
  ctx.log(`measuring ${spec.id} (raw SQL, ${spec.concurrency} connections)`);
  return pushSqlRow(ctx, spec, await measure(ctx, sqlTask(ctx, spec)));
}

function pushRow(ctx: BenchContext, row: Row): Row {
  ctx.rows.push(row);
  const r = row.result;
  if (r) {
    const cpu = r.cpu
      ? `; CPU us/request: server ${r.cpu.serverUsPerRequest} (${r.cpu.serverWritesPerRequest} writes), ` +
        `postgres ${r.cpu.postgresUsPerRequest}, ` +
        `load generator ${r.cpu.loadgenUsPerRequest}; other load ${r.cpu.otherCores} cores`
      : '';
    ctx.log(
      `  ${r.requestsPerSecond} req/s, p50 ${r.latencyMs.p50} ms, p95 ${r.latencyMs.p95} ms, ` +
        `p99 ${r.latencyMs.p99} ms, errors ${r.errors.total}${cpu}`,
    );
  }
  return row;
}

function compare(row: Row, baseline: Row, label: string): number | null {
  const a = row.result?.requestsPerSecond;
  const b = baseline.result?.requestsPerSecond;
  const ratio = a !== undefined && b ? Math.round((a / b) * 1000) / 1000 : null;
  row.baselines.push({ id: baseline.id, label, ratio });
  return ratio;
}

function goal(ctx: BenchContext, g: Omit<Goal, 'status'>, met: (value: number) => boolean): void {
  const status = g.value === null ? 'not met' : met(g.value) ? 'met' : 'not met';
  ctx.goals.push({ ...g, status });
}

// ------------------------------------------------------------------------------ setup

/** Creates a tenant with a tenant:admin key and one 128-d cosine collection. */
export async function createTenant(
  api: ApiClient,
  slug: string,
  collection: string,
  dimension: number,
): Promise<Tenant> {
  const t = await api.createTenant(slug);
  const key = await api.issueKey(t.id);
  const c = await api.createCollection(key, collection, dimension);
  return { id: t.id, key, collection: c };
}

/**
 * Loads `count` vectors through the batch upsert, `parallel` calls in flight. Batches are generated in
 * order from one seeded generator, so batch k always holds the same vectors.
 */
async function seedVectors(
  ctx: BenchContext,
  tenant: Tenant,
  count: number,
): Promise<{ seconds: number }> {
  const { profile, data } = ctx;
  const rng = new Rng(profile.seed + 1);
  const batches = Math.ceil(count / profile.batchSize);
  let made = 0;
  const started = performance.now();
  let done = 0;
  await mapLimit(
    Array.from({ length: batches }, (_, i) => i),
    profile.parallelUpserts,
    async () => {
      const n = Math.min(profile.batchSize, count - made);
      const vectors = data.vectors(rng, n, 'v', made);
      made += n;
      await ctx.api.upsert(tenant.key, tenant.collection.name, vectors);
      done += n;
      if (done % (profile.batchSize * 20) === 0) ctx.log(`  ${done}/${count} vectors`);
    },
  );
  return { seconds: (performance.now() - started) / 1000 };
}

// ------------------------------------------------------------------------------ scenarios

/** The bare route on ctx's server; a cluster server's row is told apart by suffix and label. */
export async function bare(ctx: BenchContext): Promise<Row> {
  const n = ctx.serverProcesses;
  return httpRow(ctx, {
    id: n > 1 ? `bare-${n}p` : 'bare',
    group: 'bare',
    label: `GET /health/live${n > 1 ? `, ${n} api processes` : ''}`,
    description:
      'Public liveness route: no credential, no database. The ceiling of this stack on this machine' +
      (n > 1
        ? ` with ${n} api processes (and the load generator, PostgreSQL and Redis) on its cores.`
        : '.'),
    concurrency: ctx.profile.bareConnections,
    targets: [{ method: 'GET', path: '/health/live', headers: {} }],
    bodies: [],
  });
}

/** The bench-only route (src/bench-support, BENCH_ROUTES=true): GET /v1/collections' query without tenant context. */
const NO_CONTEXT_PATH = '/v1/_bench/collections-without-tenant-context';

/**
 * Tenant context: what resolving the tenant and isolating the query costs per request. Two routes
 * behind the same guards and hooks, measured interleaved: GET /v1/collections (key -> tenant, one
 * message carrying the set-up (role, tenant, status, read-only) and the query) against the
 * same query with no tenant context at all (one autocommit statement through a BYPASSRLS login, so it
 * returns the same rows and the same answer). Their difference is the goal. The same query as raw SQL from the load generator is also
 * shown, for the end-to-end cost of the HTTP stack itself.
 */
export async function tenantContext(ctx: BenchContext, main: Tenant): Promise<void> {
  const headers = { 'x-api-key': main.key };
  for (const c of ctx.profile.tenantContextConcurrency) {
    const [apiRow, noContext] = await interleavedHttpRows(ctx, [
      {
        id: `tenant-context-api-c${c}`,
        group: 'tenant context',
        label: `GET /v1/collections (API key)`,
        description:
          'GET /v1/collections with an API key: key verification (cached after first use), the tenant ' +
          'context and the tenant collections read under row-level security, in one database round trip.',
        concurrency: c,
        targets: [{ method: 'GET', path: '/v1/collections', headers }],
        bodies: [],
      },
      {
        id: `tenant-context-none-c${c}`,
        group: 'tenant context',
        label: 'the same query, no tenant context (bench route)',
        description:
          `GET ${NO_CONTEXT_PATH} (mounted by BENCH_ROUTES=true): the same guards and hooks, then ` +
          `SELECT ${COLLECTION_COLUMNS} FROM collections WHERE tenant_id = $1 ORDER BY name as one ` +
          'autocommit statement: no transaction, no role or tenant set, no tenant status read, through ' +
          'its own pool of a login that bypasses row-level security (SELECT on collections only), so ' +
          'it returns the same collection and the same JSON as the API. Measured interleaved with the ' +
          'row above.',
        concurrency: c,
        targets: [{ method: 'GET', path: NO_CONTEXT_PATH, headers }],
        bodies: [],
      },
    ]);
    compare(apiRow, noContext, 'no context');
    const sql = await sqlRow(ctx, {
      id: `tenant-context-sql-c${c}`,
      group: 'tenant context',
      label: 'raw SQL, no tenant context',
      description:
        `pg Pool as ${APP_ROLE} from the load-generator process: BEGIN; SELECT ${COLLECTION_COLUMNS} ` +
        'FROM collections ORDER BY name; COMMIT (three round trips, no set_config: RLS shows no rows). ' +
        'Not the goal baseline: the API row also pays for HTTP, the key and the rate limiter.',
      concurrency: c,
      steps: [
        { text: 'BEGIN' },
        { text: `SELECT ${COLLECTION_COLUMNS} FROM collections ORDER BY name` },
        { text: 'COMMIT' },
      ],
      vectorPool: [],
    });
    compare(apiRow, sql, 'raw SQL');
    const a = apiRow.result!.latencyMs;
    const b = noContext.result!.latencyMs;
    goal(
      ctx,
      {
        id: `tenant-context-overhead-p50-c${c}`,
        description: `Tenant-context overhead per request, p50, ${c} in flight (API p50 - same route without tenant context p50)`,
        target: '< 0.3 ms',
        value: round3(a.p50 - b.p50),
        unit: 'ms',
      },
      (v) => v < 0.3,
    );
    goal(
      ctx,
      {
        id: `tenant-context-overhead-p99-c${c}`,
        description: `Tenant-context overhead per request, p99, ${c} in flight (API p99 - same route without tenant context p99)`,
        target: '< 1 ms',
        value: round3(a.p99 - b.p99),
        unit: 'ms',
      },
      (v) => v < 1,
    );
  }
}

/** The limit of the enforced rate-limiting row: far under what one process serves, so overload is sustained. */
const ENFORCED_LIMIT_PER_SECOND = 500;
const ENFORCED_WINDOW_SECONDS = 1;

/** Loopback, the load generator's address, in both families. */
const LOOPBACK = ['127.0.0.1/32', '::1/128'];

/**
 * A tenant of the rate-limiting rows: IP allowlist on the tenant and on its key, so every guard
 * before the limiter has its work to do (key, tenant allowlist, key allowlist).
 */
async function allowlistedTenant(api: ApiClient, slug: string): Promise<Tenant> {
  const t = await api.createTenant(slug, undefined, { network: { allowedIps: LOOPBACK } });
  const { secret: key } = await api.issueRestrictedKey(t.id, { allowedIps: LOOPBACK });
  const collection = await api.createCollection(key, 'c', 2);
  return { id: t.id, key, collection };
}

/** Rows and goals of a cluster server are told apart by an id suffix and a label suffix. */
function serverTag(ctx: BenchContext): { sfx: string; procs: string } {
  const n = ctx.serverProcesses;
  return n > 1 ? { sfx: `-${n}p`, procs: `, ${n} api processes` } : { sfx: '', procs: '' };
}

/**
 * The rate-limiting rows' own ceiling: GET /v1/whoami with the same guards (API key, both IP
 * allowlists) on a server started with RATE_LIMIT_ENABLED=false, so the difference to the limiter-on
 * row is what the limiter and its Redis call cost. Measured on a server of its own (settings are per
 * process), with as many api processes as the limiter-on row it is compared with.
 */
export async function limiterOff(ctx: BenchContext): Promise<Row> {
  const { sfx, procs } = serverTag(ctx);
  const tenant = await allowlistedTenant(ctx.api, `bench-rate-off${sfx}`);
  // A limited answer carries RateLimit-Policy: none may, or this row measures the limiter after all.
  const probe = await fetch(`${ctx.api.origin}/v1/whoami`, {
    headers: { 'x-api-key': tenant.key },
  });
  await probe.arrayBuffer();
  const limited = probe.headers.has('ratelimit-policy');
  if (!probe.ok || limited) {
    const how = limited ? ' with rate-limit headers' : '';
    throw new Error(`the limiter-off server answered GET /v1/whoami ${probe.status}${how}`);
  }
  return httpRow(ctx, {
    id: `rate-limiting-off${sfx}`,
    group: 'rate limiting',
    label: `GET /v1/whoami, limiter off${procs}`,
    description:
      "The throughput row's route, key and allowlists on a server with RATE_LIMIT_ENABLED=false: " +
      'the same route without the limiter, its ceiling in this run.',
    concurrency: ctx.profile.bareConnections,
    targets: [{ method: 'GET', path: '/v1/whoami', headers: { 'x-api-key': tenant.key } }],
    bodies: [],
  });
}

/**
 * Rate limiting, Redis storage, one tenant at full speed on GET /v1/whoami (API key, IP allowlists,
 * tenant policy, no database: the cost is the guard stack and the limiter's Redis call). Two rows:
 * - throughput: limits far above what the machine can send, so every request is a 2xx that went
 *   through the limiter; against the bare route and the same route with the limiter off, same run.
 * - enforcement: a read limit of ENFORCED_LIMIT_PER_SECOND per second under the same load; a sliding
 *   log admits exactly the limit in every second of sustained overload, so the 2xx count should be
 *   limit x measured seconds (goal: within 1%), and the rest 429.
 */
export async function rateLimiting(
  ctx: BenchContext,
  /**
   * Whether this server's throughput row carries the 12,000 req/s goal. The goal asks for the
   * sustained rate on this machine with the number of processes said, so it sits on the last server
   * measured: the cluster server when there is one, its 1-process row then being a reported figure.
   */
  throughputGoal: boolean,
  /** The same route on a server with the limiter off (limiterOff), same process count. */
  withoutLimiter: Row,
): Promise<void> {
  const n = ctx.serverProcesses;
  const { sfx, procs } = serverTag(ctx);
  const open = await allowlistedTenant(ctx.api, `bench-rate-open${sfx}`);
  // Against the bare route: the main server's for 1 process, measured here first on a cluster server.
  const bareRow = n > 1 ? await bare(ctx) : ctx.rows.find((r) => r.id === 'bare');
  const throughput = await httpRow(ctx, {
    id: `rate-limiting${sfx}`,
    group: 'rate limiting',
    label: `GET /v1/whoami, limiter on, never refusing${procs}`,
    description:
      'API key (cached) restricted to the loopback addresses, on a tenant whose IP allowlist holds ' +
      'them too (both checked), tenant policy decided in Redis (one EVALSHA over the tenant-wide and ' +
      'read-class windows per event-loop turn) with limits far above the offered load, then the ' +
      "handler (no database). No signature: a tenant requiring them pays the validation row's extra " +
      'on top.',
    concurrency: ctx.profile.bareConnections,
    targets: [{ method: 'GET', path: '/v1/whoami', headers: { 'x-api-key': open.key } }],
    bodies: [],
  });
  if (bareRow) compare(throughput, bareRow, n > 1 ? `bare, ${n} processes` : 'bare');
  compare(throughput, withoutLimiter, 'limiter off');
  if (throughputGoal) {
    goal(
      ctx,
      {
        id: 'rate-limiting-goal',
        description:
          'Requests/s one tenant sustains through the full guard stack with Redis rate limiting, ' +
          (n > 1 ? `${n} api processes (API_PROCESSES=${n})` : '1 api process'),
        target: '>= 12,000 req/s',
        value: throughput.result?.requestsPerSecond ?? null,
        unit: 'req/s',
      },
      (v) => v >= 12_000,
    );
  }

  const limited = await allowlistedTenant(ctx.api, `bench-rate-limited${sfx}`);
  // Only the read class is limited; the tenant-wide rules stay out of reach.
  await ctx.api.setRateLimits(limited.id, {
    ...NO_REFUSALS,
    read: [{ limit: ENFORCED_LIMIT_PER_SECOND, window: `${ENFORCED_WINDOW_SECONDS}s` }],
  });
  // Under overload a sliding window admits its limit in bursts one window apart, so admitted/expected
  // is exact only over whole windows: a run of 1.5 s holds one burst or two (0.67 or 1.33). The row
  // warms up for at least a window and measures the profile's accuracySeconds, whole seconds.
  const enforced = await httpRow(
    ctx,
    {
      id: `rate-limiting-enforced${sfx}`,
      group: 'rate limiting',
      label: `GET /v1/whoami over a ${ENFORCED_LIMIT_PER_SECOND}/s limit${procs}`,
      description:
        `The same route for a tenant whose read limit is ${ENFORCED_LIMIT_PER_SECOND} per second, at full ` +
        'speed: req/s counts the admitted (2xx), errors are the 429s the limiter answered.',
      concurrency: ctx.profile.bareConnections,
      targets: [{ method: 'GET', path: '/v1/whoami', headers: { 'x-api-key': limited.key } }],
      bodies: [],
    },
    {
      warmupSeconds: Math.max(ctx.profile.warmupSeconds, ENFORCED_WINDOW_SECONDS),
      durationSeconds: ctx.profile.accuracySeconds,
    },
  );
  const r = enforced.result;
  const expected = r ? ENFORCED_LIMIT_PER_SECOND * r.durationSeconds : 0;
  const otherThan429 = r
    ? Object.entries(r.statusCodes).filter(([code]) => !/^(2\d\d|429)$/.test(code)).length
    : 0;
  goal(
    ctx,
    {
      id: `rate-limiting-accuracy${sfx}`,
      description:
        `Admitted requests / (limit x measured seconds) at ${ENFORCED_LIMIT_PER_SECOND}/s under overload ` +
        `(every other answer a 429)${n > 1 ? `, ${n} api processes sharing the limit` : ''}`,
      target: '1 +- 0.01',
      value: r && expected > 0 ? Math.round((r.requests / expected) * 10_000) / 10_000 : null,
      unit: '',
    },
    (v) => Math.abs(v - 1) <= 0.01 && otherThan429 === 0 && (r?.errors.socket ?? 1) === 0,
  );
}

/**
 * Full request validation against the same route without it, one request in flight, measured back to
 * back: an API key restricted to 127.0.0.1 on a tenant whose allowlist also holds 127.0.0.1, the key
 * requiring RFC 9421 signatures (so every request is signed anew by the load generator, and the
 * server claims each signature in the Redis replay cache), against a plain key of a plain tenant.
 * Both tenants hold one collection, so the route does the same work.
 */
export async function validation(ctx: BenchContext): Promise<void> {
  const { api, profile } = ctx;
  const plainTenant = await api.createTenant('bench-unguarded');
  const plainKey = await api.issueKey(plainTenant.id);
  await api.createCollection(plainKey, 'docs', profile.dimension);
  const guardedTenant = await api.createTenant('bench-guarded', undefined, {
    network: { allowedIps: LOOPBACK },
  });
  const adminKey = await api.issueKey(guardedTenant.id);
  const guarded = await api.issueRestrictedKey(guardedTenant.id, {
    allowedIps: ['127.0.0.1', '::1'],
    signing: true,
    requireSignature: true,
  });
  if (!guarded.signingSecret) throw new Error('the guarded key came without a signing secret');
  // The tenant's unrestricted admin key creates the collection (the guarded one would have to sign).
  await api.createCollection(adminKey, 'docs', profile.dimension);

  const c = 1;
  const [unguarded, full] = await interleavedHttpRows(ctx, [
    {
      id: 'validation-unguarded',
      group: 'validation',
      label: 'GET /v1/collections, API key only',
      description:
        'The same route with a plain API key (no IP allowlist on key or tenant, no signature): the ' +
        'baseline of the validation row, measured interleaved with it.',
      concurrency: c,
      targets: [{ method: 'GET', path: '/v1/collections', headers: { 'x-api-key': plainKey } }],
      bodies: [],
    },
    {
      id: 'validation-full',
      group: 'validation',
      label: 'GET /v1/collections, API key + IP allowlist + RFC 9421 signature',
      description:
        'API key restricted to 127.0.0.1 and requiring signatures, on a tenant with an IP allowlist: ' +
        'each request signed anew (hmac-sha256 over @method, @target-uri; created, nonce), all of them ' +
        'before the measured window opens, so the load generator does no signing while the clock runs; ' +
        'verified and claimed in the Redis replay cache by the server.',
      concurrency: c,
      targets: [
        {
          method: 'GET',
          path: '/v1/collections',
          headers: { 'x-api-key': guarded.secret },
          sign: { keyId: guarded.id, secret: guarded.signingSecret },
        },
      ],
      bodies: [],
    },
  ]);
  compare(full, unguarded, 'key only');
  const a = full.result!.latencyMs;
  const b = unguarded.result!.latencyMs;
  goal(
    ctx,
    {
      id: 'validation-overhead-p99',
      description: `Validation overhead per request, p99, ${c} in flight (API key + IP allowlist + signature p99 - API key only p99)`,
      target: '< 0.5 ms',
      value: round3(a.p99 - b.p99),
      unit: 'ms',
    },
    (v) => v < 0.5,
  );
}

/** Scenarios whose product features do not exist yet: rows and goals without numbers. */
export function notBuilt(ctx: BenchContext): void {
  const items: Array<{
    group: RowGroup;
    id: string;
    label: string;
    description: string;
    target: string;
  }> = [
    {
      group: 'audit',
      id: 'audit',
      label: 'write route, auditing on vs off',
      description:
        'A write route with the audit log on against the same route with it off. Not built.',
      target: 'set by the audit issue',
    },
  ];
  for (const it of items) {
    ctx.rows.push({
      id: it.id,
      group: it.group,
      label: it.label,
      description: it.description,
      status: 'not built',
      via: null,
      concurrency: null,
      serverProcesses: 1,
      result: null,
      baselines: [],
    });
    ctx.goals.push({
      id: `${it.id}-goal`,
      description: it.label,
      target: it.target,
      value: null,
      unit: '',
      status: 'not built',
    });
  }
}

export interface SearchOutcome {
  recall: Recall;
  seedSeconds: number;
}

export async function vectorSearch(ctx: BenchContext, main: Tenant): Promise<SearchOutcome> {
  const { profile } = ctx;
  ctx.log(
    `seeding ${profile.vectors} vectors x ${profile.dimension} (batches of ${profile.batchSize}, ` +
      `${profile.parallelUpserts} in parallel)`,
  );
  const { seconds: seedSeconds } = await seedVectors(ctx, main, profile.vectors);
  ctx.log(
    `  seeded in ${seedSeconds.toFixed(1)} s (${Math.round(profile.vectors / seedSeconds)} vectors/s)`,
  );
  const t0 = performance.now();
  await vacuumAnalyze(ctx.db);
  ctx.log(`  VACUUM ANALYZE in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const queries = ctx.data.queries(new Rng(profile.seed + 2), profile.queryPool);
  const literals = queries.map((q) => toVectorLiteral(q));
  const name = main.collection.name;
  const bodiesFor = (mode: 'exact' | 'approximate', efSearch?: number): string[] =>
    queries.map((vector) =>
      JSON.stringify({
        vector,
        topK: TOP_K,
        mode,
        ...(efSearch ? { efSearch } : {}),
        includeMetadata: false,
      }),
    );

  // Recall@10 of approximate against exact, through the API.
  const recallQueries = queries.slice(0, profile.recallQueries);
  ctx.log(`recall@${TOP_K} over ${recallQueries.length} queries`);
  const exactIds = await idsFor(ctx, main, recallQueries, { mode: 'exact' });
  const atDefault = recallOf(
    exactIds,
    await idsFor(ctx, main, recallQueries, { mode: 'approximate' }),
  );
  ctx.log(`  at default ef_search (${DEFAULT_EF_SEARCH}): ${atDefault}`);
  let at200: number | null = null;
  if (atDefault < RECALL_GOAL || ctx.measureEf200) {
    at200 = recallOf(
      exactIds,
      await idsFor(ctx, main, recallQueries, { mode: 'approximate', efSearch: 200 }),
    );
    ctx.log(`  at efSearch 200: ${at200}`);
  }
  const recall: Recall = {
    k: TOP_K,
    queries: recallQueries.length,
    efSearchDefault: DEFAULT_EF_SEARCH,
    atDefault,
    atEfSearch200: at200,
    goal: RECALL_GOAL,
    meetsGoalWith:
      atDefault >= RECALL_GOAL
        ? 'default'
        : at200 !== null && at200 >= RECALL_GOAL
          ? 'efSearch 200'
          : 'neither',
  };

  const c = profile.searchConcurrency;
  const target: HttpTarget = {
    method: 'POST',
    path: `/v1/collections/${name}/search`,
    headers: { 'x-api-key': main.key, 'content-type': 'application/json' },
  };
  const where = `${profile.vectors.toLocaleString('en-US')} vectors x ${profile.dimension}, topK ${TOP_K}, random query from a pool of ${queries.length}`;
  const exact = await httpRow(ctx, {
    id: 'search-exact',
    group: 'vector search',
    label: 'POST /search, mode exact',
    description: `Exact (sequential scan) search through the API; ${where}.`,
    concurrency: c,
    targets: [target],
    bodies: bodiesFor('exact'),
  });

  goal(
    ctx,
    {
      id: 'search-recall-default',
      description: `Recall@${TOP_K} of approximate vs exact, default ef_search (${DEFAULT_EF_SEARCH}), ${recall.queries} queries`,
      target: `>= ${RECALL_GOAL}`,
      value: atDefault,
      unit: '',
    },
    (v) => v >= RECALL_GOAL,
  );
  const settings: Array<{ suffix: string; ef: number | undefined; efValue: number }> = [
    { suffix: '', ef: undefined, efValue: DEFAULT_EF_SEARCH },
  ];
  if (at200 !== null) {
    settings.push({ suffix: '-ef200', ef: 200, efValue: 200 });
    goal(
      ctx,
      {
        id: 'search-recall-ef200',
        description: `Recall@${TOP_K} of approximate vs exact, efSearch 200, ${recall.queries} queries`,
        target: `>= ${RECALL_GOAL}`,
        value: at200,
        unit: '',
      },
      (v) => v >= RECALL_GOAL,
    );
  }

  for (const s of settings) {
    const efText = s.ef ? `efSearch ${s.ef}` : `default ef_search (${DEFAULT_EF_SEARCH})`;
    const setup = `BEGIN; ${tenantSetupSql(main.id, 'active')}, set_config('hnsw.ef_search', '${s.efValue}', true)`;
    const query = searchSql(
      {
        id: main.collection.id,
        dimension: main.collection.dimension,
        metric: main.collection.metric,
        index_kind: main.collection.index.kind,
      },
      'approximate',
      'TRUE',
      false,
      false,
    );
    // Interleaved: the first of two back-to-back rows would also pay for warming PostgreSQL's
    // buffer cache after the exact row (the 100k set's heap and HNSW index outgrow the default
    // 128 MB shared_buffers).
    const [api, sql] = await interleavedRows(ctx, [
      httpPlan(ctx, {
        id: `search-approx${s.suffix}`,
        group: 'vector search',
        label: `POST /search, mode approximate${s.ef ? `, efSearch ${s.ef}` : ''}`,
        description: `HNSW search through the API, ${efText}; ${where}. Measured interleaved with the raw SQL row.`,
        concurrency: c,
        targets: [target],
        bodies: bodiesFor('approximate', s.ef),
      }),
      sqlPlan(ctx, {
        id: `search-approx${s.suffix}-sql`,
        group: 'vector search',
        label: `raw SQL approximate search${s.ef ? `, ef_search ${s.ef}` : ''}`,
        description:
          `The SQL of searchSql() from the load-generator process as ${APP_ROLE}, in a transaction set up like ` +
          `Db.tenant (role, tenant, tenant status; ef_search in the same statement): 3 round trips. ${where}. ` +
          'Measured interleaved with the API row.',
        concurrency: c,
        steps: [
          { text: setup },
          { text: query, params: [{ fromVectorPool: true }, main.id, TOP_K] },
          { text: 'COMMIT' },
        ],
        vectorPool: literals,
      }),
    ]);
    const speedup = compare(api, exact, 'exact');
    const vsSql = compare(api, sql, 'raw SQL');
    goal(
      ctx,
      {
        id: `search-speedup${s.suffix}`,
        description: `Approximate (${efText}) queries/s over exact queries/s through the API`,
        target: '>= 10x',
        value: speedup,
        unit: 'x',
      },
      (v) => v >= 10,
    );
    goal(
      ctx,
      {
        id: `search-api-vs-sql${s.suffix}`,
        description: `API approximate (${efText}) queries/s over the same query as raw SQL`,
        target: '>= 0.7',
        value: vsSql,
        unit: 'x',
      },
      (v) => v >= 0.7,
    );
  }
  return { recall, seedSeconds };
}

export async function tenantsAtScale(
  ctx: BenchContext,
): Promise<{ seconds: number; collectionRetries: number }> {
  const { profile } = ctx;
  ctx.log(
    `creating ${profile.tenants} tenants with ${profile.vectorsPerTenant} vectors each ` +
      `(${profile.tenantSetupParallel} in parallel)`,
  );
  const started = performance.now();
  // Concurrent collection creation can fail with a 500 (a deadlock in quiver_provision_collection
  // when this was written): retry, and count how often it happened.
  const retryRng = new Rng(profile.seed + 4);
  let collectionRetries = 0;
  const createCollection = async (key: string): Promise<CollectionInfo> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await ctx.api.createCollection(key, 'docs', profile.dimension);
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 500 || attempt >= 10) throw err;
        collectionRetries++;
        await sleep(10 * attempt + retryRng.int(50));
      }
    }
  };
  const tenants = await mapLimit(
    Array.from({ length: profile.tenants }, (_, i) => i),
    profile.tenantSetupParallel,
    async (i): Promise<Tenant> => {
      const created = await ctx.api.createTenant(`bench-t${String(i).padStart(4, '0')}`);
      const key = await ctx.api.issueKey(created.id);
      const t: Tenant = { id: created.id, key, collection: await createCollection(key) };
      const vectors = ctx.data.vectors(
        new Rng(profile.seed + 1000 + i),
        profile.vectorsPerTenant,
        'd',
      );
      await ctx.api.upsert(t.key, 'docs', vectors);
      if ((i + 1) % 100 === 0) ctx.log(`  ${i + 1}/${profile.tenants} tenants`);
      return t;
    },
  );
  const seconds = (performance.now() - started) / 1000;
  ctx.log(`  ${profile.tenants} tenants in ${seconds.toFixed(1)} s`);
  const t0 = performance.now();
  await vacuumAnalyze(ctx.db);
  ctx.log(`  VACUUM ANALYZE in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const bodies = ctx.data
    .queries(new Rng(profile.seed + 3), profile.queryPool)
    .map((vector) => JSON.stringify({ vector, topK: TOP_K, includeMetadata: false }));
  const targetOf = (t: Tenant): HttpTarget => ({
    method: 'POST',
    path: `/v1/collections/docs/search`,
    headers: { 'x-api-key': t.key, 'content-type': 'application/json' },
  });
  const what = `${profile.vectorsPerTenant} vectors x ${profile.dimension} per tenant, mode auto (HNSW), topK ${TOP_K}`;
  const n = profile.tenants.toLocaleString('en-US');
  const first = await httpRow(ctx, {
    id: 'tenants-random-first',
    group: 'tenants at scale',
    label: `search, random tenant of ${n}, first pass`,
    description:
      `Each request picks a random tenant's key and collection; ${what}. Right after set-up, with ` +
      'the usual warm-up: each database connection still meets most partitions for the first time ' +
      'and loads their catalogue entries then (a one-time cost per connection and partition).',
    concurrency: profile.searchConcurrency,
    targets: tenants.map(targetOf),
    bodies,
  });
  // Steady state: every tenant searched about twice per pooled connection before measuring.
  const warmupRequests = profile.tenants * POOL_SIZE * 2;
  const [single, random] = await interleavedHttpRows(
    ctx,
    [
      {
        id: 'tenants-single',
        group: 'tenants at scale',
        label: 'search, one tenant',
        description:
          `Every request from one tenant (of ${profile.tenants}); ${what}. Measured interleaved ` +
          'with the steady-state mix below.',
        concurrency: profile.searchConcurrency,
        targets: [targetOf(tenants[0])],
        bodies,
      },
      {
        id: 'tenants-random',
        group: 'tenants at scale',
        label: `search, random tenant of ${n}, steady state`,
        description:
          `The same mix after a further warm-up of ${warmupRequests.toLocaleString('en-US')} requests ` +
          `(tenants x ${POOL_SIZE} pooled connections x 2), the state of a service whose tenants are all ` +
          `active: ${what}. Measured interleaved with the one-tenant row.`,
        concurrency: profile.searchConcurrency,
        targets: tenants.map(targetOf),
        bodies,
      },
    ],
    [0, warmupRequests],
  );
  compare(first, single, 'one tenant');
  const ratio = compare(random, single, 'one tenant');
  goal(
    ctx,
    {
      id: 'tenants-slowdown',
      description: `Slowdown of a random-tenant mix over ${n} tenants vs one tenant, steady state (one-tenant req/s / mix req/s)`,
      target: '< 1.5x',
      value: ratio ? Math.round((1 / ratio) * 1000) / 1000 : null,
      unit: 'x',
    },
    (v) => v < 1.5,
  );
  return { seconds, collectionRetries };
}

// ------------------------------------------------------------------------------ recall

async function idsFor(
  ctx: BenchContext,
  tenant: Tenant,
  queries: number[][],
  opts: Pick<SearchBody, 'mode' | 'efSearch'>,
): Promise<string[][]> {
  return mapLimit(queries, 4, async (vector) => {
    const res = await ctx.api.search(tenant.key, tenant.collection.name, {
      vector,
      topK: TOP_K,
      includeMetadata: false,
      ...opts,
    });
    return res.matches.map((m) => m.id);
  });
}

function recallOf(exact: string[][], approx: string[][]): number {
  let sum = 0;
  for (let i = 0; i < exact.length; i++) {
    const truth = new Set(exact[i]);
    const hits = approx[i].filter((id) => truth.has(id)).length;
    sum += truth.size ? hits / truth.size : 1;
  }
  return Math.round((sum / exact.length) * 10000) / 10000;
}

export function datasetOf(
  profile: Profile,
  seedSeconds: number,
  tenantSeedSeconds: number,
): Dataset {
  return {
    seed: profile.seed,
    dimension: profile.dimension,
    metric: 'cosine',
    clusters: profile.clusters,
    vectors: profile.vectors,
    batchSize: profile.batchSize,
    parallelUpserts: profile.parallelUpserts,
    seedSeconds: Math.round(seedSeconds * 10) / 10,
    seedVectorsPerSecond: seedSeconds > 0 ? Math.round(profile.vectors / seedSeconds) : 0,
    queryPool: profile.queryPool,
    tenants: profile.tenants,
    vectorsPerTenant: profile.vectorsPerTenant,
    tenantSeedSeconds: Math.round(tenantSeedSeconds * 10) / 10,
  };
}
