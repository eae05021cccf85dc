/**
 * `npm run bench [-- --quick] [-- --smoke] [-- --out <file>]`: the benchmark harness. It provisions
 * PostgreSQL/Redis (scripts/provision.sh), makes a fresh database with the deployment's two roles,
 * starts ONE production API server as deployed (SERVER_COMMAND, `node --min-semi-space-size=16
 * dist/src/main.js`), seeds data through the API, drives the load from a separate process
 * (bench/loadgen.ts) and writes bench/results.json (and, for a normal run, the Performance section of
 * README.md). The server, the load generator and the database are cleaned
 * up at the end, on failure too.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateSecret } from '@libs/api-key';
import { envSchema } from '@app/config/config.schema';
import { ApiClient } from './api-client';
import { ClusteredData } from './dataset';
import {
  benchDatabase,
  collectionStorage,
  createBenchDatabase,
  databaseSize,
  dropBenchDatabase,
} from './database';
import { LoadGenerator } from './loadgen-client';
import { BenchOptions, parseOptions, profileFor } from './options';
import { consoleReport, updateReadme } from './report';
import { deleteQueueKeys } from './redis-cleanup';
import { BenchResults, parseBenchResults } from './results-schema';
import {
  BenchContext,
  bare,
  createTenant,
  datasetOf,
  limiterOff,
  notBuilt,
  rateLimiting,
  tenantContext,
  tenantsAtScale,
  validation,
  vectorSearch,
} from './scenarios';
import { freePort, ROOT, SERVER_COMMAND, SERVER_ENTRY, Server, serverEnv } from './server';

const started = performance.now();
function log(message: string): void {
  const s = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[bench ${s}s] ${message}\n`);
}

/** Cleanup steps, run once, in reverse order of registration, whatever happened. */
class Cleanup {
  private readonly steps: Array<{ name: string; fn: () => Promise<void> }> = [];
  private running: Promise<void> | undefined;

  add(name: string, fn: () => Promise<void>): void {
    this.steps.push({ name, fn });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.reverse()) {
        try {
          await step.fn();
        } catch (err) {
          process.stderr.write(
            `[bench] cleanup "${step.name}" failed: ${err instanceof Error ? err.message : String(err)}\n`,
          );
        }
      }
    })();
    return this.running;
  }
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 1048576).toLocaleString('en-US')} MiB`;
}

/** The server's pid is kept on disk so a run killed with SIGKILL is cleaned up by the next one. */
function pidFile(database: string): string {
  return path.join(os.tmpdir(), `quiver-bench-${database}.server.pid`);
}

function killStaleServer(file: string): void {
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, 'utf8').trim());
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (pid > 0 && cmdline.includes(SERVER_ENTRY)) {
      log(`stopping a server left over by an earlier run (pid ${pid})`);
      process.kill(pid, 'SIGKILL');
    }
  } catch {
    // gone already
  }
  unlinkSync(file);
}

function redact(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (k === 'QUIVER_BOOTSTRAP_TOKEN' || k === 'QUIVER_ENCRYPTION_KEY') continue;
    out[k] = v.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
  return out;
}

/** Read-only git queries (no index refresh, no locks): which code the run measured. */
function sourceState(): { commit: string; modifiedFiles: string[] } {
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' },
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  try {
    const files = git('diff', '--name-only', 'HEAD');
    return { commit: git('rev-parse', 'HEAD'), modifiedFiles: files ? files.split('\n') : [] };
  } catch {
    return { commit: 'unknown', modifiedFiles: [] };
  }
}

function loadAverage(): number[] {
  return os.loadavg().map((x) => Math.round(x * 100) / 100);
}

async function main(opts: BenchOptions): Promise<void> {
  const profile = profileFor(opts);
  const cleanup = new Cleanup();
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n[bench] ${signal}: cleaning up\n`);
    void cleanup.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const date = new Date().toISOString();
  const source = sourceState();
  const loadAverageStart = loadAverage();
  log(`${opts.command}: ${opts.mode} mode${opts.smoke ? ' (smoke)' : ''}, results to ${opts.out}`);
  log('provisioning (scripts/provision.sh)');
  execFileSync('bash', [path.join(ROOT, 'scripts/provision.sh')], { stdio: 'inherit' });

  let server: Server | undefined;
  try {
    const db = benchDatabase(profile.database);
    const pids = pidFile(db.name);
    killStaleServer(pids);
    log(`creating database ${db.name}`);
    await createBenchDatabase(db);
    if (!opts.keepDb) {
      cleanup.add('drop database', async () => {
        await dropBenchDatabase(db);
        log(`dropped database ${db.name}`);
      });
    }

    await deleteQueueKeys(profile.queuePrefix);
    cleanup.add('delete queue keys', async () => {
      const n = await deleteQueueKeys(profile.queuePrefix);
      log(`deleted ${n} Redis keys under ${profile.queuePrefix}`);
    });

    const platformToken = generateSecret('qvp', 'test').secret;
    const encryptionKey = randomBytes(32).toString('base64');
    const port = await freePort();
    const logFile = path.join(os.tmpdir(), `quiver-bench-${db.name}.server.log`);
    log(`starting ${SERVER_ENTRY} on port ${port} (log: ${logFile})`);
    const [srvStarted, loadgenStarted] = await Promise.allSettled([
      Server.start({
        db,
        port,
        platformToken,
        encryptionKey,
        logFile,
        queuePrefix: profile.queuePrefix,
        profileDir: opts.profileDir,
      }),
      LoadGenerator.start(),
    ]);
    if (loadgenStarted.status === 'fulfilled') {
      cleanup.add('stop load generator', () => loadgenStarted.value.stop());
    }
    if (srvStarted.status === 'rejected') throw srvStarted.reason;
    if (loadgenStarted.status === 'rejected') {
      await srvStarted.value.stop();
      throw loadgenStarted.reason;
    }
    const [srv, loadgen] = [srvStarted.value, loadgenStarted.value];
    server = srv;
    writeFileSync(pids, String(server.pid));
    cleanup.add('stop server', async () => {
      await srv.stop();
      if (existsSync(pids)) unlinkSync(pids);
      log('server stopped');
    });
    log(`server ready (pid ${server.pid}); load generator pid ${loadgen.pid}`);

    const api = new ApiClient(server.origin, platformToken);
    const ctx: BenchContext = {
      profile,
      api,
      loadgen,
      db,
      measureEf200: opts.ef200,
      cpu: { serverPid: srv.pid, loadgenPid: loadgen.pid, database: db.name },
      serverProcesses: 1,
      serverSettings: {},
      data: new ClusteredData(
        { dimension: profile.dimension, clusters: profile.clusters, spread: profile.spread },
        profile.seed,
      ),
      rows: [],
      goals: [],
      notes: [],
      log,
    };
    const main = await createTenant(api, 'bench-main', 'main', profile.dimension);

    await bare(ctx);
    await tenantContext(ctx, main);
    await validation(ctx);
    /**
     * Runs `measure` against a further server of the same code and database (API_PROCESSES and
     * settings as given), which is stopped after (or by the cleanup, on a signal); the main server
     * idles meanwhile. Each gets a log of its own, and the CPU profile when one is asked for.
     */
    const onServer = async <T>(
      processes: number,
      settings: Record<string, string>,
      measure: (c: BenchContext) => Promise<T>,
    ): Promise<T> => {
      const what = [
        `API_PROCESSES=${processes}`,
        ...Object.entries(settings).map(([k, v]) => `${k}=${v}`),
      ];
      const tag = what
        .join('-')
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-');
      const extraLog = path.join(os.tmpdir(), `quiver-bench-${db.name}.${tag}.log`);
      log(`starting a further server with ${what.join(' ')} (log: ${extraLog})`);
      const extra = await Server.start({
        db,
        port: await freePort(),
        platformToken,
        encryptionKey,
        logFile: extraLog,
        queuePrefix: profile.queuePrefix,
        processes,
        settings,
        profileDir: opts.profileDir,
      });
      // Server.stop() does nothing once the server has exited, so this may run after the finally.
      cleanup.add(`stop further server ${tag}`, () => extra.stop());
      try {
        return await measure({
          ...ctx,
          api: new ApiClient(extra.origin, platformToken),
          cpu: { ...ctx.cpu, serverPid: extra.pid },
          serverProcesses: processes,
          serverSettings: settings,
        });
      } finally {
        await extra.stop();
        log('further server stopped');
      }
    };
    const LIMITER_OFF = { RATE_LIMIT_ENABLED: 'false' };

    // Limiter on and off compared on fresh servers alike, for each process count; the 12,000 req/s
    // goal sits on the last server measured: the cluster one when there is one.
    const n = opts.clusterProcesses;
    for (const processes of n > 1 ? [1, n] : [1]) {
      const off = await onServer(processes, LIMITER_OFF, limiterOff);
      await onServer(processes, {}, (c) => rateLimiting(c, processes === n, off));
    }
    notBuilt(ctx);
    const search = await vectorSearch(ctx, main);
    const storage = await collectionStorage(db, main.collection.id);
    const scale = await tenantsAtScale(ctx);
    const dbBytes = await databaseSize(db);

    const deadlocks = server.logLines('deadlock detected');
    ctx.notes.push(
      'Tenant context: the goal compares `GET /v1/collections` with a bench-only route (mounted by ' +
        '`BENCH_ROUTES=true`) that runs the same query behind the same guards but without tenant context ' +
        '(one autocommit statement, no transaction, no role, tenant or status) through a login that ' +
        'bypasses row-level security and may read only collections, so both routes return the same ' +
        'collection and the same JSON. The raw SQL row (`BEGIN; ' +
        'SELECT ...; COMMIT` as `quiver_app` from the load generator) shows what the HTTP stack adds. ' +
        'The pairs of goal rows (tenant context, validation, approximate search through the API vs ' +
        'raw SQL, one tenant vs the steady-state mix of tenants) are measured interleaved: four ' +
        'slices each (twice the usual measured time per ' +
        'row), in the order A B B A A B B A, latencies pooled.',
      'Search rows send `includeMetadata: false` and no filter. The raw SQL search baseline takes three ' +
        "round trips: the `Db.tenant` set-up statement (role, tenant, tenant status) with `set_config('hnsw.ef_search')` " +
        'added to it, the query `searchSql()` builds, `COMMIT`.',
      `The search collection took ${mib(storage.heapBytes)} of table and ${mib(storage.hnswBytes)} of ` +
        `HNSW index, against PostgreSQL's shared_buffers of ${mib(storage.sharedBuffersBytes)} on this ` +
        'machine (its default): ' +
        (storage.heapBytes + storage.hnswBytes > storage.sharedBuffersBytes
          ? 'they do not fit together, so searches also read pages from the operating system cache ' +
            '(see Scaling out on sizing PostgreSQL for the index).'
          : 'both fit.'),
      'After seeding, the bench runs `VACUUM ANALYZE` (the state autovacuum reaches on its own) so no run ' +
        `races autovacuum. The database reached ${mib(dbBytes)} and is dropped at the end.`,
      `API keys are cached for \`API_KEY_CACHE_TTL_MS\` (default ${envSchema.shape.API_KEY_CACHE_TTL_MS.parse(undefined) / 1000} s): ` +
        'in the random-tenant mix each key is looked up again once per TTL.',
    );
    const reached = (ids: string[]): string =>
      ids
        .map((id) => ctx.rows.find((r) => r.id === id))
        .filter((r) => r?.result)
        .map(
          (r) =>
            `${Math.round(r!.result!.requestsPerSecond).toLocaleString('en-US')} req/s with ` +
            `${r!.serverProcesses} api process${r!.serverProcesses > 1 ? 'es' : ''}`,
        )
        .join(' and ');
    const bareCeiling = reached(['bare', `bare-${n}p`]);
    const offCeiling = reached(['rate-limiting-off', `rate-limiting-off-${n}p`]);
    if (bareCeiling && offCeiling) {
      ctx.notes.push(
        "The rate-limiting goal (12,000 req/s) is to be read against this run's ceilings, on the same " +
          '2 cores as the load generator, PostgreSQL and Redis: the trivial unauthenticated route ' +
          `reached ${bareCeiling}; the limited route itself, with the limiter off ` +
          `(RATE_LIMIT_ENABLED=false), ${offCeiling}.`,
      );
    }
    if (scale.collectionRetries > 0 || deadlocks > 0) {
      ctx.notes.push(
        `Setting up the tenants (${profile.tenantSetupParallel} in parallel), ${scale.collectionRetries} ` +
          '`POST /v1/collections` calls failed with HTTP 500 and were retried; the server logged ' +
          `${deadlocks} "deadlock detected" errors (concurrent collection creation).`,
      );
    }
    const results: BenchResults = {
      schemaVersion: 1,
      date,
      command: opts.command,
      mode: opts.mode,
      smoke: opts.smoke,
      serverProcesses: 1,
      server: {
        command: SERVER_COMMAND,
        env: redact(
          serverEnv({
            db,
            port,
            platformToken,
            encryptionKey,
            queuePrefix: profile.queuePrefix,
          }),
        ),
      },
      source,
      durations: { warmupSeconds: profile.warmupSeconds, runSeconds: profile.runSeconds },
      totalSeconds: Math.round((performance.now() - started) / 1000),
      machine: {
        cores: os.cpus().length,
        cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
        memoryBytes: os.totalmem(),
        memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
        node: process.version,
        platform: `${os.type()} ${os.release()}`,
        loadAverageStart,
        loadAverageEnd: loadAverage(),
      },
      dataset: datasetOf(profile, search.seedSeconds, scale.seconds),
      rows: ctx.rows,
      goals: ctx.goals,
      recall: search.recall,
      notes: ctx.notes,
    };
    const valid = parseBenchResults(results);
    mkdirSync(path.dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, `${JSON.stringify(valid, null, 2)}\n`);
    process.stdout.write(consoleReport(valid));
    log(`wrote ${path.relative(process.cwd(), opts.out) || opts.out}`);
    if (opts.profileDir) log(`the server's CPU profile goes to ${opts.profileDir} when it stops`);
    if (!opts.outGiven && !opts.smoke && !opts.profileDir) {
      await updateReadme(path.join(ROOT, 'README.md'), valid);
      log('rewrote the Performance section of README.md');
    }
  } catch (err) {
    if (server)
      process.stderr.write(
        `[bench] server log (${server.logFile}), last lines:\n${server.logTail()}\n`,
      );
    throw err;
  } finally {
    await cleanup.run();
  }
}

/** `--readme`: rewrite the README section from the existing bench/results.json, run nothing. */
async function readmeOnly(opts: BenchOptions): Promise<void> {
  const results = parseBenchResults(JSON.parse(readFileSync(opts.out, 'utf8')) as unknown);
  await updateReadme(path.join(ROOT, 'README.md'), results);
  log(`rewrote the Performance section of README.md from ${path.relative(ROOT, opts.out)}`);
}

let options: BenchOptions;
try {
  options = parseOptions(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}
(options.readmeOnly ? readmeOnly(options) : main(options)).then(
  () => {
    log('done');
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(
      `[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
