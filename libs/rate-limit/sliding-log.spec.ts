import { SlidingLog } from './sliding-log';

describe('SlidingLog', () => {
  it('keeps a minute window of a high limit to 1000 runs, however many admissions it holds', () => {
    const log = new SlidingLog();
    const windowMs = 60_000;
    for (let now = 0; now < 180_000; now++) {
      log.expire(now, windowMs);
      for (let i = 0; i < 3; i++) log.record(now, windowMs);
    }
    log.expire(180_000, windowMs);
    // Three admissions every millisecond, recorded per 60 ms quantum: (120,000, 180,000) holds 59,999 ms
    // of them in 1000 runs.
    expect(log.total).toBe(3 * 59_999);
    expect(log.runs).toBe(1000);
  });

  it('is exact to the millisecond under 2 s windows', () => {
    const log = new SlidingLog();
    log.record(100, 1999);
    log.expire(2098, 1999);
    expect(log.total).toBe(1);
    log.expire(2099, 1999);
    expect(log.total).toBe(0);
  });

  it('forgets everything once the newest run has expired', () => {
    const log = new SlidingLog();
    log.record(5, 1000);
    log.record(7, 1000);
    expect(log.expiresAt(1000)).toBe(1007);
    log.expire(1007, 1000);
    expect([log.total, log.runs, log.expiresAt(1000)]).toEqual([0, 0, 0]);
  });
});
