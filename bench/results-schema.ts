import { z } from 'zod';

/**
 * The shape of bench/results.json (and of any `--out` file). `npm run bench` validates what it writes
 * against this schema before writing it, so a smoke test can rely on `parseBenchResults`.
 *
 * Conventions: latencies are milliseconds; `requestsPerSecond` counts successful requests (2xx, or
 * committed transactions for raw SQL rows) per second of the measured window (warm-up excluded);
 * a row that is `not built` carries no numbers at all (never a made-up one).
 */

const count = z.number().int().nonnegative();
const nonNegative = z.number().finite().nonnegative();

export const LatencySchema = z.object({
  p50: nonNegative,
  p95: nonNegative,
  p99: nonNegative,
});

export const ErrorCountsSchema = z.object({
  /** HTTP responses outside 2xx. */
  non2xx: count,
  /** Connection errors and timeouts seen by the load generator. */
  socket: count,
  /** Failed transactions (raw SQL rows only). */
  sql: count,
  total: count,
});

/**
 * CPU spent per successful request during the measured window (microseconds, from /proc), and how
 * many cores everything outside the bench (other people's work, the OS) kept busy meanwhile.
 */
export const CpuUsageSchema = z.object({
  /** The API server: its process and, under API_PROCESSES > 1, its workers (idle during raw SQL rows). */
  serverUsPerRequest: z.number().nullable(),
  /**
   * Write syscalls of the server per request (/proc/<pid>/io syscw): one per HTTP response plus one per
   * SQL statement it sends, so (this - 1) is about the database round trips a request costs.
   */
  serverWritesPerRequest: z.number().nullable(),
  /**
   * PostgreSQL backends connected to the bench database, plus what PostgreSQL processes that exited
   * during the window used (parallel workers, autovacuum workers; of any database), read from the
   * postmaster's reaped-children time.
   */
  postgresUsPerRequest: z.number().nullable(),
  /** The load-generator process (autocannon or the pg Pool). */
  loadgenUsPerRequest: z.number().nullable(),
  otherCores: nonNegative,
});

export const MeasurementSchema = z.object({
  /** Successful requests (or transactions) in the measured window. */
  requests: count,
  durationSeconds: z.number().positive(),
  requestsPerSecond: nonNegative,
  latencyMs: LatencySchema,
  errors: ErrorCountsSchema,
  /** HTTP status code -> count (empty for raw SQL rows). */
  statusCodes: z.record(z.string(), count),
  /** Null where /proc is not available. */
  cpu: CpuUsageSchema.nullable(),
});

export const ROW_GROUPS = [
  'bare',
  'tenant context',
  'validation',
  'rate limiting',
  'audit',
  'vector search',
  'tenants at scale',
] as const;

export const BaselineRefSchema = z.object({
  /** The id of another row of the same run. */
  id: z.string(),
  /** Short name used in the table ("raw SQL", "exact", ...). */
  label: z.string(),
  /** This row's requestsPerSecond divided by the baseline row's. */
  ratio: nonNegative.nullable(),
});

export const RowSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9-]+$/),
    group: z.enum(ROW_GROUPS),
    label: z.string().min(1),
    /** What the row measures, precisely enough to reproduce it. */
    description: z.string().min(1),
    status: z.enum(['measured', 'not built']),
    /** http: through the API with autocannon; sql: pg Pool from the load-generator process. */
    via: z.enum(['http', 'sql']).nullable(),
    concurrency: z.number().int().positive().nullable(),
    /** API processes of the server that answered (API_PROCESSES); raw SQL rows say 1. */
    serverProcesses: z.number().int().positive(),
    /**
     * Settings of the server that answered beyond those in `server.env` (RATE_LIMIT_ENABLED=false for
     * a limiter-off row); absent when there were none.
     */
    serverSettings: z.record(z.string(), z.string()).optional(),
    result: MeasurementSchema.nullable(),
    baselines: z.array(BaselineRefSchema),
  })
  .superRefine((row, ctx) => {
    const measured = row.status === 'measured';
    if (measured !== (row.result !== null) || measured !== (row.via !== null)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: 'a measured row has via and result; a not-built row has neither',
      });
    }
  });

export const GoalSchema = z.object({
  id: z.string().regex(/^[a-z0-9-]+$/),
  description: z.string().min(1),
  /** Human-readable target, e.g. "< 0.3 ms" or ">= 0.95". */
  target: z.string().min(1),
  /** The measured value the verdict is based on (null when not built). */
  value: z.number().finite().nullable(),
  unit: z.string(),
  status: z.enum(['met', 'not met', 'not built']),
});

export const RecallSchema = z.object({
  k: z.number().int().positive(),
  /** Queries the recall is averaged over (each searched exact and approximate through the API). */
  queries: z.number().int().positive(),
  /** The server's default ef_search (HNSW_EF_SEARCH) used when the request gives none. */
  efSearchDefault: z.number().int().positive(),
  atDefault: z.number().min(0).max(1),
  /** Measured when recall at the default misses the goal (or with --ef200). */
  atEfSearch200: z.number().min(0).max(1).nullable(),
  goal: z.number(),
  meetsGoalWith: z.enum(['default', 'efSearch 200', 'neither']),
});

export const DatasetSchema = z.object({
  seed: z.number().int(),
  dimension: z.number().int().positive(),
  metric: z.literal('cosine'),
  clusters: z.number().int().positive(),
  /** Vectors in the vector-search collection. */
  vectors: count,
  batchSize: z.number().int().positive(),
  parallelUpserts: z.number().int().positive(),
  seedSeconds: nonNegative,
  seedVectorsPerSecond: nonNegative,
  queryPool: z.number().int().positive(),
  /** The tenants-at-scale set. */
  tenants: count,
  vectorsPerTenant: count,
  tenantSeedSeconds: nonNegative,
});

export const MachineSchema = z.object({
  cores: z.number().int().positive(),
  cpuModel: z.string(),
  memoryBytes: z.number().int().positive(),
  memoryGiB: nonNegative,
  node: z.string(),
  platform: z.string(),
  /** 1/5/15-minute load averages: other work on the machine skews the numbers. */
  loadAverageStart: z.array(nonNegative).length(3),
  loadAverageEnd: z.array(nonNegative).length(3),
});

export const BenchResultsSchema = z.object({
  schemaVersion: z.literal(1),
  /** ISO 8601, when the run started. */
  date: z.string().datetime(),
  /** How it was invoked, e.g. "npm run bench -- --quick". */
  command: z.string().min(1),
  mode: z.enum(['full', 'quick']),
  smoke: z.boolean(),
  /**
   * API processes of the main server. The rate-limiting rows ran on further servers of the same code
   * and environment, each started for its rows: their serverProcesses and serverSettings say how.
   */
  serverProcesses: z.number().int().positive(),
  server: z.object({
    command: z.string(),
    /** The server's environment as the bench set it (secrets left out). */
    env: z.record(z.string(), z.string()),
  }),
  /** The code that was measured: the commit, and the tracked files that differed from it. */
  source: z.object({
    commit: z.string(),
    modifiedFiles: z.array(z.string()),
  }),
  durations: z.object({ warmupSeconds: nonNegative, runSeconds: z.number().positive() }),
  totalSeconds: nonNegative,
  machine: MachineSchema,
  dataset: DatasetSchema,
  rows: z.array(RowSchema).min(1),
  goals: z.array(GoalSchema),
  recall: RecallSchema,
  notes: z.array(z.string()),
});

export type Latency = z.infer<typeof LatencySchema>;
export type ErrorCounts = z.infer<typeof ErrorCountsSchema>;
export type CpuUsage = z.infer<typeof CpuUsageSchema>;
export type Measurement = z.infer<typeof MeasurementSchema>;
/** What the load generator measures; the orchestrator adds the CPU accounting. */
export type LoadMeasurement = Omit<Measurement, 'cpu'>;
export type RowGroup = (typeof ROW_GROUPS)[number];
export type BaselineRef = z.infer<typeof BaselineRefSchema>;
export type Row = z.infer<typeof RowSchema>;
export type Goal = z.infer<typeof GoalSchema>;
export type Recall = z.infer<typeof RecallSchema>;
export type Dataset = z.infer<typeof DatasetSchema>;
export type Machine = z.infer<typeof MachineSchema>;
export type BenchResults = z.infer<typeof BenchResultsSchema>;

/** Validates parsed JSON as bench results; throws a ZodError naming the failing paths. */
export function parseBenchResults(json: unknown): BenchResults {
  return BenchResultsSchema.parse(json);
}
