import cluster, { type Worker } from 'node:cluster';
import pino from 'pino';
import { serveClusterMetrics } from './cluster-metrics';
import { HeartbeatMonitor } from './heartbeat';
import { workerExecArgv } from '../runtime/v8-flags';

/** More unplanned exits than this within RESTART_WINDOW_MS and the primary gives up. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

export interface PrimaryOptions {
  processes: number;
  shutdownTimeoutMs: number;
  logLevel: string;
  /** A listening worker silent this long is killed and replaced (0: never). */
  stallTimeoutMs: number;
}

/**
 * API_PROCESSES > 1: this process only supervises. It forks that many api workers, which share the
 * listening port (the primary hands out connections round robin); a worker that dies after it came up
 * is replaced, one that dies before it ever listened (bad configuration, database away) stops the
 * whole server with an error, as a single process would. A worker whose event loop stops answering
 * the primary's heartbeat for STALL_TIMEOUT_MS is killed and so replaced (decision 73).
 * SIGTERM / SIGINT go to every worker, which shut down gracefully; the primary exits when they are
 * gone.
 */
export function runPrimary(opts: PrimaryOptions): void {
  const log = pino({ name: 'QuiverPrimary', level: opts.logLevel });
  const exits: number[] = [];
  /** Workers that have begun listening and not exited since. */
  const listening = new Set<Worker>();
  let stopping = false;
  let exitCode = 0;

  const heartbeat =
    opts.stallTimeoutMs > 0
      ? new HeartbeatMonitor(opts.stallTimeoutMs, (worker, silentMs) => {
          log.error(
            { pid: worker.process.pid, silentMs, alert: 'api_worker_unresponsive' },
            'an api worker stopped answering; killing it',
          );
          worker.process.kill('SIGKILL');
        })
      : undefined;

  // Workers start with the heap flags even when the primary was started without them (decision 95).
  cluster.setupPrimary({ execArgv: workerExecArgv() });
  serveClusterMetrics();
  cluster.on('listening', (worker) => {
    listening.add(worker);
    heartbeat?.watch(worker);
    // The moment the server runs at full strength (at start, and again after a replacement): the
    // primary hands new connections only to workers already listening, so a load test or a load
    // balancer check that starts before this line sends every connection to the first workers.
    if (listening.size === opts.processes) {
      log.info({ processes: opts.processes }, 'all api workers are listening');
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    heartbeat?.forget(worker);
    // One that exits without ever having listened failed to start.
    const listened = listening.delete(worker);
    const remaining = Object.keys(cluster.workers ?? {}).length;
    if (stopping) {
      if (remaining === 0) process.exit(exitCode);
      return;
    }
    const why = signal ?? `code ${code}`;
    if (!listened) {
      log.error({ pid: worker.process.pid, exit: why }, 'an api worker failed to start; stopping');
      stop(1);
      return;
    }
    const now = Date.now();
    exits.push(now);
    while (exits.length > 0 && exits[0] < now - RESTART_WINDOW_MS) exits.shift();
    if (exits.length > MAX_RESTARTS) {
      log.error({ exits: exits.length }, 'api workers keep exiting; stopping');
      stop(1);
      return;
    }
    log.warn({ pid: worker.process.pid, exit: why }, 'an api worker exited; starting another');
    cluster.fork();
  });

  function stop(code: number): void {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    heartbeat?.stop();
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) process.exit(exitCode);
    for (const w of workers) w?.process.kill('SIGTERM');
    setTimeout(() => {
      log.error('api workers did not stop in time; killing them');
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      process.exit(1);
    }, opts.shutdownTimeoutMs + 5_000).unref();
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => stop(0));
  for (let i = 0; i < opts.processes; i++) cluster.fork();
  log.info({ processes: opts.processes }, 'started api workers');
}
