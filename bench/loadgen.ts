/**
 * The load generator: a child process of bench/run.ts, so the load is generated outside the
 * orchestrator (and outside the server). It receives tasks over IPC, runs them one at a time and
 * reports a Measurement back. HTTP load uses autocannon; raw SQL baselines use a pg Pool.
 */
import autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';
import { Pool, type PoolClient } from 'pg';
import { signRequest } from '../libs/http-signatures';
import type {
  ChildMessage,
  HttpTarget,
  HttpTask,
  LoadTask,
  ParentMessage,
  SqlTask,
} from './loadgen-protocol';
import { Rng } from './prng';
import type { LoadMeasurement } from './results-schema';
import { LatencyRecorder } from './stats';

interface Outcome {
  result: LoadMeasurement;
  firstError?: string;
  latencies?: number[];
}

function send(message: ChildMessage): void {
  // If the orchestrator is gone the channel is closed: nothing to report to, so just stop.
  if (!process.connected) process.exit(0);
  process.send?.(message, undefined, {}, (err: Error | null) => {
    if (err) process.exit(0);
  });
}

/** Tells the orchestrator the measured window starts (it snapshots CPU counters then). */
type OnMeasuring = () => void;

async function runTask(task: LoadTask, onMeasuring: OnMeasuring): Promise<Outcome> {
  return task.kind === 'http' ? runHttp(task, onMeasuring) : runSql(task, onMeasuring);
}

// ------------------------------------------------------------------------------------- HTTP

async function runHttp(task: HttpTask, onMeasuring: OnMeasuring): Promise<Outcome> {
  if (task.warmupRequests) {
    await autocannonPhase(task, 0, false, presign(task, task.warmupRequests), task.warmupRequests);
  } else if (task.warmupSeconds > 0) {
    await autocannonPhase(
      task,
      task.warmupSeconds,
      false,
      presign(task, task.warmupSeconds * PRESIGN_PER_SECOND),
    );
  }
  // Signed before the measured window opens, so neither its time nor its garbage lands in it.
  const signed = presign(task, task.durationSeconds * PRESIGN_PER_SECOND);
  onMeasuring();
  return autocannonPhase(task, task.durationSeconds, true, signed);
}

/** Signed requests prepared per second of a phase: more than one connection gets answered here. */
const PRESIGN_PER_SECOND = 3000;

/** Headers of one request to a signed target: prepared ahead where possible, else signed now. */
type Signatures = (target: HttpTarget, body: Buffer | undefined) => Record<string, string>;

/**
 * Every request needs its own signature (`created`, nonce: the server refuses one it has seen), and
 * computing it while the clock runs would count the load generator's own work (and its garbage
 * collection) as server latency. Bodiless targets are signed ahead, `count` each; requests beyond
 * that, and targets with a body, are signed as they go.
 */
function presign(task: HttpTask, count: number): Signatures {
  // The Host autocannon sends, so the signed @target-uri is the one the server rebuilds.
  const host = new URL(task.origin).host;
  const secrets = new Map(
    task.targets.filter((t) => t.sign).map((t) => [t, Buffer.from(t.sign!.secret)] as const),
  );
  const sign: Signatures = (target, body) => {
    const headers = { ...target.headers, host };
    const signed = signRequest(
      { method: target.method, targetUri: `${task.origin}${target.path}`, headers, body },
      { keyId: target.sign!.keyId, secret: secrets.get(target)! },
    );
    return { ...headers, ...signed };
  };
  const ready = new Map<HttpTarget, Array<Record<string, string>>>();
  if (task.bodies.length === 0) {
    for (const target of secrets.keys()) {
      ready.set(
        target,
        Array.from({ length: Math.ceil(count) }, () => sign(target, undefined)),
      );
    }
  }
  return (target, body) => ready.get(target)?.pop() ?? sign(target, body);
}

/** One autocannon run: for `seconds`, or until `amount` requests are answered when given. */
function autocannonPhase(
  task: HttpTask,
  seconds: number,
  record: boolean,
  signatures: Signatures,
  amount?: number,
): Promise<Outcome> {
  const rng = new Rng(task.seed + (record ? 1 : 0));
  const bodies = task.bodies.map((b) => Buffer.from(b));
  const recorder = new LatencyRecorder();
  const signing = task.targets.some((t) => t.sign);
  const single = task.targets.length === 1 && bodies.length <= 1 && !signing;
  const first = task.targets[0];
  const headersFor = (target: HttpTarget, body: Buffer | undefined): Record<string, string> => {
    if (!target.sign) return target.headers;
    return signatures(target, body);
  };
  const request: autocannon.Request = single
    ? { method: first.method, path: first.path, headers: first.headers, body: bodies[0] }
    : {
        method: first.method,
        setupRequest: (req: autocannon.Request): autocannon.Request => {
          const target = task.targets[rng.int(task.targets.length)];
          const body = bodies.length > 0 ? bodies[rng.int(bodies.length)] : undefined;
          return {
            ...req,
            method: target.method,
            path: target.path,
            headers: headersFor(target, body),
            body,
          };
        },
      };
  return new Promise<Outcome>((resolve, reject) => {
    let firstError: string | undefined;
    const started = performance.now();
    const instance = autocannon(
      {
        url: task.origin,
        connections: task.connections,
        ...(amount ? { amount } : { duration: seconds }),
        requests: [request],
        timeout: 30,
        // autocannon stops only at a sample tick (its per-sample histograms go unused here). Whole
        // seconds keep their default 1 s tick, so such a run lasts whole seconds (the rate-limit
        // accuracy row counts whole 1 s windows); a fractional run ticks every 100 ms and ends within
        // 0.1 s of the time asked instead of at the next whole second.
        sampleInt: Number.isInteger(seconds) ? 1000 : 100,
      },
      (err: unknown, result: autocannon.Result) => {
        if (err) {
          reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
          return;
        }
        const elapsed = (performance.now() - started) / 1000;
        const statusCodes: Record<string, number> = {};
        for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) {
          statusCodes[code] = stat.count ?? 0;
        }
        resolve({
          result: recorder.measurement(
            elapsed,
            { non2xx: result.non2xx, socket: result.errors, sql: 0 },
            statusCodes,
          ),
          firstError,
          latencies: record && task.keepLatencies ? recorder.all() : undefined,
        });
      },
    );
    instance.on('response', (_client, statusCode: number, _bytes: number, ms: number) => {
      if (record && statusCode >= 200 && statusCode < 300) recorder.record(ms);
    });
    // The listener's parameter is typed `any` by @types/autocannon; narrow it here.
    instance.on('reqError', (err: unknown) => {
      firstError ??= err instanceof Error ? err.message : String(err);
    });
  });
}

// ------------------------------------------------------------------------------------- SQL

/**
 * Pools live until shutdown (no idle timeout), so no backend exits inside a measured window: the
 * orchestrator reads the backends' CPU from /proc after the result arrives.
 */
const pools = new Map<string, Pool>();

async function poolFor(connectionString: string, size: number): Promise<Pool> {
  const key = `${size} ${connectionString}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = new Pool({
      connectionString,
      max: size,
      idleTimeoutMillis: 0,
      application_name: 'quiver-bench-loadgen',
    });
    pool.on('error', () => undefined); // an idle client's error surfaces on its next query
    pools.set(key, pool);
    // Open every connection before timing anything.
    const clients = await Promise.all(Array.from({ length: size }, () => pool!.connect()));
    clients.forEach((c) => c.release());
  }
  return pool;
}

async function runSql(task: SqlTask, onMeasuring: OnMeasuring): Promise<Outcome> {
  const pool = await poolFor(task.connectionString, task.concurrency);
  if (task.warmupSeconds > 0) await sqlPhase(pool, task, task.warmupSeconds, false);
  onMeasuring();
  return sqlPhase(pool, task, task.durationSeconds, true);
}

async function sqlPhase(
  pool: Pool,
  task: SqlTask,
  seconds: number,
  record: boolean,
): Promise<Outcome> {
  const rng = new Rng(task.seed + (record ? 1 : 0));
  const recorder = new LatencyRecorder();
  let failed = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + seconds * 1000;

  const params = (step: (typeof task.steps)[number]): unknown[] | undefined =>
    step.params?.map((p) =>
      typeof p === 'object' ? task.vectorPool[rng.int(task.vectorPool.length)] : p,
    );

  async function loop(): Promise<void> {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      let client: PoolClient | undefined;
      let broken: Error | undefined;
      try {
        client = await pool.connect();
        for (const step of task.steps) await client.query(step.text, params(step));
        if (record) recorder.record(performance.now() - t0);
      } catch (err) {
        failed++;
        firstError ??= err instanceof Error ? err.message : String(err);
        await client?.query('ROLLBACK').catch((e: Error) => {
          broken = e;
        });
      } finally {
        client?.release(broken);
      }
    }
  }

  await Promise.all(Array.from({ length: task.concurrency }, () => loop()));
  const elapsed = (performance.now() - started) / 1000;
  return {
    result: recorder.measurement(elapsed, { non2xx: 0, socket: 0, sql: failed }, {}),
    firstError,
    latencies: record && task.keepLatencies ? recorder.all() : undefined,
  };
}

// ------------------------------------------------------------------------------------- IPC

process.on('message', (message: ParentMessage) => {
  if ('shutdown' in message) {
    void Promise.allSettled([...pools.values()].map((p) => p.end())).then(() => process.exit(0));
    return;
  }
  runTask(message.task, () => send({ id: message.id, measuring: true })).then(
    (outcome) => send({ id: message.id, ok: true, ...outcome }),
    (err: unknown) =>
      send({
        id: message.id,
        ok: false,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      }),
  );
});

// The orchestrator going away (even by SIGKILL) closes the IPC channel: stop with it.
process.on('disconnect', () => process.exit(0));

send({ ready: true });
