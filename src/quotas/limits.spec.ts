import { effectiveLimits, judge, LIMIT_NAMES, warningThreshold } from './limits';

describe('effectiveLimits', () => {
  const plan = Object.fromEntries(LIMIT_NAMES.map((n) => [n, 10]));

  it('takes the plan limit unless the tenant overrides it', () => {
    const merged = effectiveLimits(plan, { vectors: 5 });
    expect(merged.vectors).toEqual({ limit: 5, source: 'override' });
    expect(merged.collections).toEqual({ limit: 10, source: 'plan' });
  });

  it('lifts a limit with an override of null, and treats a missing plan limit as unlimited', () => {
    expect(effectiveLimits(plan, { apiKeys: null }).apiKeys).toEqual({
      limit: null,
      source: 'override',
    });
    expect(effectiveLimits({}, undefined).storedBytes).toEqual({ limit: null, source: 'plan' });
  });
});

describe('judge', () => {
  it('refuses only a write that raised usage above the limit', () => {
    expect(judge(11, 1, 10, 80)).toBe('refuse');
    expect(judge(10, 1, 10, 80)).not.toBe('refuse');
    // Above a lowered limit, a write that does not add is let through.
    expect(judge(20, 0, 10, 80)).toBe('ok');
    expect(judge(19, -1, 10, 80)).toBe('ok');
    expect(judge(1_000_000, 5, null, 80)).toBe('ok');
  });

  it('warns once, on the write that crosses the threshold', () => {
    expect(judge(7, 7, 10, 80)).toBe('ok');
    expect(judge(8, 1, 10, 80)).toBe('warn');
    expect(judge(10, 5, 10, 80)).toBe('warn');
    expect(judge(9, 1, 10, 80)).toBe('ok');
  });

  it('rounds the threshold up', () => {
    expect(warningThreshold(3, 80)).toBe(3);
    expect(warningThreshold(100, 80)).toBe(80);
    expect(warningThreshold(0, 80)).toBe(0);
  });
});
