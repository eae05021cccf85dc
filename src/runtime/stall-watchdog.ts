import inspector from 'node:inspector';
import { Worker } from 'node:worker_threads';
import type { AppConfig } from '@app/config/app-config';

/**
 * The watchdog's own thread: a separate V8 isolate with its own event loop, so it keeps running while
 * the main thread is stuck (a wedged GC, a runaway synchronous loop). It writes with fs.writeSync to
 * fd 2, because a worker thread's process.stderr goes through the main thread, which is the one stuck.
 */
const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const beat = new BigInt64Array(workerData.beat);
const { timeoutMs, name } = workerData;
setInterval(() => {
  const stalledMs = Math.round(Number(process.hrtime.bigint() - Atomics.load(beat, 0)) / 1e6);
  if (stalledMs < timeoutMs) return;
  const line = JSON.stringify({
    level: 60, time: Date.now(), pid: process.pid, name, alert: 'event_loop_stalled', stalledMs,
    msg: 'the event loop has not turned for ' + stalledMs + ' ms; killing this process',
  });
  try { writeSync(2, line + '\\n'); } catch {}
  process.kill(process.pid, 'SIGKILL');
}, Math.max(100, Math.min(1000, timeoutMs / 4)));
`;

export interface StallWatchdog {
  /** False under a debugger (the inspector is open): a breakpoint stalls the loop on purpose. */
  active: boolean;
  stop(): Promise<void>;
}

/**
 * Kills this process (SIGKILL) when its main thread's event loop has not turned for `timeoutMs`, so
 * a stuck process becomes a dead one, which a supervisor replaces: the cluster primary, Docker's
 * restart policy, systemd, Kubernetes. Decision 73. The main thread stamps the time every
 * `timeoutMs / 10` (at most every second) from an unref'd timer; the watchdog thread checks it.
 * Neither keeps the process alive. Not started when the process runs with the inspector open
 * (`--inspect`): a debugger paused at a breakpoint must not get its process killed.
 */
export function startStallWatchdog(timeoutMs: number, name: string): StallWatchdog {
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1000) {
    throw new Error('startStallWatchdog: the timeout must be a whole number of ms, at least 1000');
  }
  if (inspector.url() !== undefined) return { active: false, stop: () => Promise.resolve() };
  const shared = new SharedArrayBuffer(8);
  const beat = new BigInt64Array(shared);
  // The monotonic clock, the same in every thread (a wall-clock jump must not look like a stall).
  const stamp = () => Atomics.store(beat, 0, process.hrtime.bigint());
  stamp();
  const timer = setInterval(stamp, Math.min(1000, timeoutMs / 10));
  timer.unref();
  const worker = new Worker(WATCHDOG_SOURCE, {
    eval: true,
    workerData: { beat: shared, timeoutMs, name },
    // Not the process's -r hooks (ts-node in development): the watchdog is plain JavaScript.
    execArgv: [],
  });
  // A watchdog that fails must not take the process with it: say so and carry on without it.
  worker.on('error', (err) => {
    process.stderr.write(
      `${JSON.stringify({ level: 50, time: Date.now(), pid: process.pid, name, alert: 'stall_watchdog_failed', msg: String(err) })}\n`,
    );
  });
  worker.unref();
  return {
    active: true,
    async stop() {
      clearInterval(timer);
      await worker.terminate();
    },
  };
}

/**
 * The watchdog as a Quiver process runs it: STALL_TIMEOUT_MS (0: off), and never with the embedded
 * database, whose PGlite runs its queries on the main thread (an index build blocks the loop
 * legitimately). Returns undefined when it does not run.
 */
export function watchForStalls(config: AppConfig, name: string): StallWatchdog | undefined {
  const timeoutMs = config.env.STALL_TIMEOUT_MS;
  if (timeoutMs === 0 || config.databaseMode === 'embedded') return undefined;
  return startStallWatchdog(timeoutMs, name);
}
