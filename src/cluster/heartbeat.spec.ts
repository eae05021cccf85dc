import { EventEmitter } from 'node:events';
import type { Worker } from 'node:cluster';
import { HeartbeatMonitor } from './heartbeat';

/** A stand-in for a cluster worker: records pings, answers them when told to. */
class FakeWorker extends EventEmitter {
  pings: unknown[] = [];
  connected = true;
  isConnected(): boolean {
    return this.connected;
  }
  send(message: unknown): boolean {
    this.pings.push(message);
    return true;
  }
  answer(): void {
    for (const ping of this.pings.splice(0)) {
      this.emit('message', { type: 'quiver:pong', at: (ping as { at: number }).at });
    }
  }
}

describe('HeartbeatMonitor', () => {
  let clock = 0;
  let silent: Array<[FakeWorker, number]>;
  let monitor: HeartbeatMonitor;

  beforeEach(() => {
    clock = 1_000;
    silent = [];
    monitor = new HeartbeatMonitor(
      4_000,
      (w, ms) => silent.push([w as unknown as FakeWorker, ms]),
      () => clock,
    );
  });
  afterEach(() => monitor.stop());

  const asWorker = (w: FakeWorker) => w as unknown as Worker;

  it('pings watched workers and keeps the ones that answer', () => {
    const a = new FakeWorker();
    monitor.watch(asWorker(a));
    for (let i = 0; i < 10; i++) {
      clock += 1_000;
      monitor.tick();
      expect(a.pings).toEqual([{ type: 'quiver:ping', at: clock }]);
      a.answer();
    }
    expect(silent).toEqual([]);
  });

  it('reports a worker silent for the timeout, once, and leaves the others alone', () => {
    const stuck = new FakeWorker();
    const fine = new FakeWorker();
    monitor.watch(asWorker(stuck));
    monitor.watch(asWorker(fine));
    for (let i = 0; i < 3; i++) {
      clock += 1_000;
      monitor.tick();
      fine.answer();
    }
    expect(silent).toEqual([]); // 3 s of silence is under the 4 s timeout
    clock += 1_000;
    monitor.tick();
    fine.answer();
    expect(silent).toEqual([[stuck, 4_000]]);
    clock += 10_000;
    monitor.tick();
    expect(silent.map(([w]) => w)).toEqual([stuck, fine]); // fine went quiet too, later
  });

  it('ignores other messages and answers from workers it forgot', () => {
    const a = new FakeWorker();
    monitor.watch(asWorker(a));
    clock += 3_000;
    a.emit('message', { type: 'quiver:metrics-request', id: 1 });
    a.emit('message', 'quiver:pong');
    clock += 1_000;
    monitor.tick();
    expect(silent).toEqual([[a, 4_000]]);

    const b = new FakeWorker();
    monitor.watch(asWorker(b));
    monitor.forget(asWorker(b));
    b.emit('message', { type: 'quiver:pong', at: clock });
    clock += 60_000;
    monitor.tick();
    expect(silent).toHaveLength(1);
  });

  it('does not send to a worker whose channel has closed', () => {
    const a = new FakeWorker();
    monitor.watch(asWorker(a));
    a.connected = false;
    clock += 1_000;
    monitor.tick();
    expect(a.pings).toEqual([]);
  });
});
