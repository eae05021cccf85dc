import type { Worker } from 'node:cluster';
import { isMessage } from './ipc-message';

const PING = 'quiver:ping';
const PONG = 'quiver:pong';

interface Beat {
  type: typeof PING | typeof PONG;
  at: number;
}

/**
 * In an api worker: answers the primary's pings from the event loop. A worker whose loop is stuck
 * (a wedged GC, a runaway synchronous loop) stops answering, which is what the primary watches for.
 */
export function answerHeartbeats(): void {
  process.on('message', (message: unknown) => {
    if (!isMessage<Beat>(message, PING) || !process.connected) return;
    process.send!({ type: PONG, at: message.at } satisfies Beat);
  });
}

/**
 * In the primary: pings each listening worker every `timeoutMs / 4` and reports one that has not
 * answered for `timeoutMs` (once; the caller kills it, and its exit is handled as any other).
 */
export class HeartbeatMonitor {
  private readonly lastSeen = new Map<Worker, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly onUnresponsive: (worker: Worker, silentMs: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts watching a worker that has begun listening. */
  watch(worker: Worker): void {
    this.lastSeen.set(worker, this.now());
    worker.on('message', (message: unknown) => {
      if (isMessage<Beat>(message, PONG) && this.lastSeen.has(worker)) {
        this.lastSeen.set(worker, this.now());
      }
    });
    this.timer ??= setInterval(() => this.tick(), Math.max(250, this.timeoutMs / 4));
    this.timer.unref();
  }

  forget(worker: Worker): void {
    this.lastSeen.delete(worker);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.lastSeen.clear();
  }

  /** One round: report the silent, ping the rest. Public for tests. */
  tick(): void {
    const now = this.now();
    for (const [worker, seen] of this.lastSeen) {
      if (now - seen >= this.timeoutMs) {
        this.lastSeen.delete(worker);
        this.onUnresponsive(worker, now - seen);
        continue;
      }
      if (!worker.isConnected()) continue;
      try {
        worker.send({ type: PING, at: now } satisfies Beat);
      } catch {
        // The channel closed between the check and the send: the exit handler takes it from here.
      }
    }
  }
}
