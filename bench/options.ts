import path from 'node:path';
import { parseArgs } from 'node:util';
import { assertDatabaseName } from '../scripts/local-database';

export interface BenchOptions {
  mode: 'full' | 'quick';
  smoke: boolean;
  /** Where results go; README is rewritten only for a normal run writing the default file. */
  out: string;
  outGiven: boolean;
  keepDb: boolean;
  /** Measure efSearch 200 as well even when the default ef_search meets the recall goal. */
  ef200: boolean;
  /** Only rewrite README.md from the existing results file. */
  readmeOnly: boolean;
  /** Directory for a V8 CPU profile of the server (node --cpu-prof); such a run never touches README. */
  profileDir: string | undefined;
  /** API_PROCESSES of the further servers the rate-limiting rows are repeated on (1: not repeated). */
  clusterProcesses: number;
  /** How it was invoked, for the record. */
  command: string;
}

/** Sizes and durations of one run. */
export interface Profile {
  database: string;
  queuePrefix: string;
  seed: number;
  dimension: number;
  clusters: number;
  spread: number;
  vectors: number;
  batchSize: number;
  parallelUpserts: number;
  queryPool: number;
  recallQueries: number;
  tenants: number;
  vectorsPerTenant: number;
  tenantSetupParallel: number;
  warmupSeconds: number;
  runSeconds: number;
  /**
   * Measured time of the rate-limit accuracy rows: whole seconds, as their limit's window is 1 s
   * (scenarios.ts, rateLimiting).
   */
  accuracySeconds: number;
  bareConnections: number;
  /** Concurrencies of the tenant-context comparison (API and raw SQL at each). */
  tenantContextConcurrency: number[];
  searchConcurrency: number;
}

const USAGE = `Usage: npm run bench -- [--quick] [--smoke] [--out <file>] [--keep-db] [--profile <dir>] [--ef200] [--processes <n>] [--readme]
  --quick    10k vectors, 50 tenants, 0.5 s warm-ups and 1.5 s runs (under 2 minutes in all)
  --smoke    a tiny data set (500 vectors, 5 tenants, 1 s runs) to check the harness works
  --out      results file (default bench/results.json, bench/results-smoke.json with --smoke);
             README.md is rewritten only when --out, --smoke and --profile are all absent
  --keep-db  keep the bench database afterwards (it is dropped at the next start anyway); its name is
             QUIVER_BENCH_DB, else <QUIVER_TEST_DB>_bench, else quiver_bench (+ _smoke for --smoke)
  --processes  the rate-limiting rows again on servers with API_PROCESSES=<n> (default 2; 1 skips
             them)
  --ef200    also measure approximate search with efSearch 200 (automatic when recall < 0.95)
  --readme   run nothing: rewrite README.md's Performance section from bench/results.json
  --profile  write a V8 CPU profile of the server into <dir> (skews the numbers; README untouched)`;

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      out: { type: 'string' },
      'keep-db': { type: 'boolean', default: false },
      readme: { type: 'boolean', default: false },
      ef200: { type: 'boolean', default: false },
      profile: { type: 'string' },
      processes: { type: 'string', default: '2' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (values.profile !== undefined && values.out === undefined) {
    throw new Error(
      '--profile skews the numbers: give --out <file> too, so bench/results.json stays clean',
    );
  }
  const smoke = values.smoke ?? false;
  const clusterProcesses = Number(values.processes);
  if (!Number.isInteger(clusterProcesses) || clusterProcesses < 1 || clusterProcesses > 64) {
    throw new Error('--processes takes a whole number from 1 to 64');
  }
  return {
    mode: values.quick || smoke ? 'quick' : 'full',
    smoke,
    // A smoke run never overwrites the results the README was generated from.
    out: path.resolve(
      values.out ?? path.join(__dirname, smoke ? 'results-smoke.json' : 'results.json'),
    ),
    outGiven: values.out !== undefined,
    keepDb: values['keep-db'] ?? false,
    readmeOnly: values.readme ?? false,
    ef200: values.ef200 ?? false,
    profileDir: values.profile === undefined ? undefined : path.resolve(values.profile),
    clusterProcesses,
    command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
  };
}

/**
 * The bench's database (dropped and recreated at every start, with its backends terminated) and its
 * Redis queue prefix. Several people share one PostgreSQL here, so the name can be moved:
 * QUIVER_BENCH_DB, else derived from QUIVER_TEST_DB (the smoke test inside `npm test` then follows the
 * test database), else quiver_bench.
 */
export function benchDatabaseName(smoke: boolean, env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.QUIVER_BENCH_DB || (env.QUIVER_TEST_DB ? `${env.QUIVER_TEST_DB}_bench` : 'quiver_bench');
  const name = smoke ? `${base}_smoke` : base;
  assertDatabaseName(name, 'bench database name');
  return name;
}

export function profileFor(opts: BenchOptions): Profile {
  const database = benchDatabaseName(opts.smoke);
  const queuePrefix = `{${database.replace(/_/g, '-')}}`;
  const common = {
    seed: 20260101,
    dimension: 128,
    clusters: 100,
    spread: 0.5,
    batchSize: 1000,
    parallelUpserts: 4,
    recallQueries: 200,
    vectorsPerTenant: 200,
    tenantSetupParallel: 4,
    bareConnections: 50,
    tenantContextConcurrency: [1, 10],
    // More requests in flight than the app's default pool holds (2 x cores + 1: 5 on 2 cores), so
    // some wait for a connection, as they would in production; the raw SQL baseline holds 10.
    searchConcurrency: 10,
  };
  if (opts.smoke) {
    return {
      ...common,
      // Its own database and queue prefix, so a smoke test never disturbs a bench run.
      database,
      queuePrefix,
      vectors: 500,
      batchSize: 250,
      queryPool: 200,
      tenants: 5,
      vectorsPerTenant: 50,
      warmupSeconds: 0.5,
      runSeconds: 1,
      accuracySeconds: 1,
    };
  }
  if (opts.mode === 'quick') {
    return {
      ...common,
      database,
      queuePrefix,
      // Sized to finish, build included, in under 2 minutes on a slow machine of this kind (bare
      // route ~10k req/s); its numbers are noisier than a full run's and only show the harness works.
      vectors: 10_000,
      queryPool: 500,
      tenants: 50,
      warmupSeconds: 0.5,
      runSeconds: 1.5,
      accuracySeconds: 5,
    };
  }
  return {
    ...common,
    database,
    queuePrefix,
    vectors: 100_000,
    queryPool: 1000,
    tenants: 1000,
    warmupSeconds: 3,
    runSeconds: 10,
    accuracySeconds: 10,
  };
}
