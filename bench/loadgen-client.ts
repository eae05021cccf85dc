import { ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import type { ChildMessage, LoadTask, ParentMessage } from './loadgen-protocol';
import type { LoadMeasurement } from './results-schema';

/** A measurement, with every latency when the task asked for them (keepLatencies). */
export type LoadOutcome = LoadMeasurement & { latencies?: number[] };

interface Pending {
  resolve: (m: LoadOutcome) => void;
  onMeasuring?: () => void;
  reject: (e: Error) => void;
  label: string;
}

/**
 * How long a task may take before the bench gives up on it: its warm-up and measured time, three
 * times over, plus five minutes (a warm-up counted in requests has no time of its own). Beyond that
 * the server is taken to be wedged, and failing says so where waiting would hang the run for good.
 */
export function taskDeadlineMs(task: LoadTask): number {
  return ((task.warmupSeconds + task.durationSeconds) * 3 + 300) * 1000;
}

/** The orchestrator's handle on the load-generator child process (bench/loadgen.ts). */
export class LoadGenerator {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exited = false;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: ChildMessage) => this.onMessage(message));
    child.on('exit', (code, signal) => {
      this.exited = true;
      for (const p of this.pending.values()) {
        p.reject(new Error(`load generator exited (${signal ?? code}) during "${p.label}"`));
      }
      this.pending.clear();
    });
  }

  /** Forks the child (through ts-node when running from TypeScript) and waits until it is ready. */
  static async start(): Promise<LoadGenerator> {
    const fromTs = __filename.endsWith('.ts');
    const child = fork(path.join(__dirname, fromTs ? 'loadgen.ts' : 'loadgen.js'), [], {
      execArgv: fromTs ? ['-r', 'ts-node/register/transpile-only'] : [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: ChildMessage) => {
        if ('ready' in m) {
          child.off('message', onMessage);
          child.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (code: number | null) =>
        reject(new Error(`load generator exited with ${code} before it was ready`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    return new LoadGenerator(child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Runs one task; `onMeasuring` is called when its warm-up ends and the measured window starts.
   * Rejects when no result came within `deadline` ms (default taskDeadlineMs).
   */
  run(
    task: LoadTask,
    onMeasuring?: () => void,
    deadline = taskDeadlineMs(task),
  ): Promise<LoadOutcome> {
    if (this.exited) return Promise.reject(new Error('load generator is not running'));
    const id = this.nextId++;
    return new Promise<LoadOutcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new Error(
            `${task.label}: no result after ${deadline / 1000} s; is the server answering? ` +
              '(its log is named at the start of the run)',
          ),
        );
      }, deadline);
      this.pending.set(id, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
        onMeasuring,
        label: task.label,
      });
      const message: ParentMessage = { id, task };
      this.child.send(message);
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const shutdown: ParentMessage = { id: 0, shutdown: true };
    this.child.send(shutdown);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }

  private onMessage(message: ChildMessage): void {
    if ('ready' in message) return;
    const p = this.pending.get(message.id);
    if (!p) return;
    if ('measuring' in message) {
      p.onMeasuring?.();
      return;
    }
    this.pending.delete(message.id);
    if (message.ok) {
      if (message.firstError) {
        process.stderr.write(`[bench] ${p.label}: first error: ${message.firstError}\n`);
      }
      p.resolve(
        message.latencies ? { ...message.result, latencies: message.latencies } : message.result,
      );
    } else {
      p.reject(new Error(`${p.label}: ${message.error}`));
    }
  }
}
