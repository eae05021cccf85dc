import { cpuBetween, type CpuSnapshot } from '../bench/cpu';

/** The bench's CPU accounting (bench/cpu.ts): pure arithmetic over two /proc snapshots. */
describe('bench CPU per request (bench/cpu.ts cpuBetween)', () => {
  const snapshot = (over: Partial<CpuSnapshot>): CpuSnapshot => ({
    at: 0,
    server: 0,
    serverWrites: 0,
    postgres: new Map(),
    postgresExited: 0,
    loadgen: 0,
    self: 0,
    machine: 0,
    ...over,
  });

  it('charges a backend that exits only what it spent after the first snapshot', () => {
    // Backend 11 works on; backend 12 had used 500 ms when the row started and exits at 520 ms,
    // so the postmaster's reaped-children total grows by all 520.
    const a = snapshot({
      postgres: new Map([
        [11, 100],
        [12, 500],
      ]),
      postgresExited: 1_000,
    });
    const b = snapshot({ at: 1_000, postgres: new Map([[11, 150]]), postgresExited: 1_520 });
    // 50 ms of backend 11 and 20 ms of backend 12, over 1,000 requests.
    expect(cpuBetween(a, b, 1_000).postgresUsPerRequest).toBe(70);
  });

  it('charges in full a process that both started and exited between the snapshots', () => {
    // Nothing of it was seen: a parallel worker, an autovacuum worker, a short-lived connection.
    const a = snapshot({ postgres: new Map([[11, 100]]), postgresExited: 1_000 });
    const b = snapshot({ at: 1_000, postgres: new Map([[11, 130]]), postgresExited: 1_040 });
    expect(cpuBetween(a, b, 1_000).postgresUsPerRequest).toBe(70);
  });

  it('charges a backend that appeared after the first snapshot in full, once', () => {
    const a = snapshot({ postgres: new Map([[11, 100]]), postgresExited: 1_000 });
    const b = snapshot({
      at: 1_000,
      postgres: new Map([
        [11, 110],
        [13, 60],
      ]),
      postgresExited: 1_000,
    });
    expect(cpuBetween(a, b, 1_000).postgresUsPerRequest).toBe(70);
  });

  it('never counts less than nothing when the reaped total is unknown or lags', () => {
    const a = snapshot({
      postgres: new Map([
        [11, 100],
        [12, 500],
      ]),
      postgresExited: 1_000,
    });
    // Backend 12 is gone from /proc but not yet reaped: its CPU is not in the total yet.
    const lagging = snapshot({ at: 1_000, postgres: new Map([[11, 120]]), postgresExited: 1_000 });
    expect(cpuBetween(a, lagging, 1_000).postgresUsPerRequest).toBe(20);
    const unknown = snapshot({ at: 1_000, postgres: new Map([[11, 120]]), postgresExited: null });
    expect(cpuBetween(a, unknown, 1_000).postgresUsPerRequest).toBe(20);
  });
});
