import { MemoryRateLimitStore } from '@libs/rate-limit';
import {
  compilePolicy,
  ENDPOINT_CLASSES,
  PLAN_RATE_LIMITS,
  rateLimitSettingsSchema,
  shareOf,
  windowMs,
} from './rate-limit-policy';

describe('rate limit policy', () => {
  it('reads windows from one second to one day, nothing else', () => {
    expect(windowMs('1s')).toBe(1000);
    expect(windowMs('30s')).toBe(30_000);
    expect(windowMs('1m')).toBe(60_000);
    expect(windowMs('1h')).toBe(3_600_000);
    expect(windowMs('1d')).toBe(86_400_000);
    expect(windowMs('24h')).toBe(86_400_000);
    for (const bad of ['0s', '2d', '25h', '1500m', '1ms', '1', 's', '01s', '-1s', '1.5s', ' 1s']) {
      expect({ bad, ms: windowMs(bad) }).toEqual({ bad, ms: undefined });
    }
  });

  it("compiles the plan's rules: tenant-wide in bucket 0, then the class's own", () => {
    const policy = compilePolicy('pro', undefined);
    const search = policy.rules.search;
    expect(search.map((r) => [r.name, r.limit, r.windowMs, r.bucket])).toEqual([
      ['tenant-1s', 500, 1000, 0],
      ['tenant-1m', 20_000, 60_000, 0],
      ['search-1s', 200, 1000, 1],
      ['search-1m', 10_000, 60_000, 1],
    ]);
    const buckets = ENDPOINT_CLASSES.map((c) => policy.rules[c][2].bucket);
    expect(new Set(buckets).size).toBe(ENDPOINT_CLASSES.length);
    expect(buckets).not.toContain(0);
  });

  it('replaces the plan scope by scope with the settings, keeping the scopes not listed', () => {
    const policy = compilePolicy('free', {
      tenant: [{ limit: 7, window: '10s' }],
      write: [
        { limit: 3, window: '1s' },
        { limit: 100, window: '1h' },
      ],
    });
    expect(policy.rules.write.map((r) => r.name)).toEqual(['tenant-10s', 'write-1s', 'write-1h']);
    expect(policy.rules.search.map((r) => [r.name, r.limit])).toEqual([
      ['tenant-10s', 7],
      ['search-1s', PLAN_RATE_LIMITS.free.search[0].limit],
      ['search-1m', PLAN_RATE_LIMITS.free.search[1].limit],
    ]);
  });

  it('never makes a tenant unlimited: unknown plans get free, unparsable overrides are ignored', () => {
    const free = compilePolicy('free', undefined);
    expect(compilePolicy('no-such-plan', undefined)).toEqual(free);
    expect(compilePolicy('free', { tenant: [] })).toEqual(free);
    expect(compilePolicy('free', { tenant: [{ limit: 0, window: '1s' }] })).toEqual(free);
    expect(compilePolicy('free', 'garbage')).toEqual(free);
    expect(compilePolicy('free', null)).toEqual(free);
  });

  it('refuses settings the limiter cannot honour, naming the field', () => {
    const cases: Array<[unknown, string]> = [
      [{ search: [] }, 'search'],
      [
        {
          search: [
            { limit: 1, window: '1s' },
            { limit: 2, window: '1s' },
          ],
        },
        'search.1.window',
      ],
      [
        {
          search: [
            { limit: 1, window: '60s' },
            { limit: 2, window: '1m' },
          ],
        },
        'search.1.window',
      ],
      [{ search: [{ limit: 1.5, window: '1s' }] }, 'search.0.limit'],
      [{ search: [{ limit: -1, window: '1s' }] }, 'search.0.limit'],
      [{ search: [{ limit: 1, window: '2d' }] }, 'search.0.window'],
      [{ search: [{ limit: 1, window: '1s', extra: true }] }, 'search.0'],
      [{ everything: [{ limit: 1, window: '1s' }] }, ''],
      [{ read: Array.from({ length: 5 }, (_, i) => ({ limit: 1, window: `${i + 1}s` })) }, 'read'],
    ];
    for (const [input, path] of cases) {
      const result = rateLimitSettingsSchema.safeParse(input);
      expect({ input, success: result.success }).toEqual({ input, success: false });
      if (!result.success) expect(result.error.issues.map((i) => i.path.join('.'))).toContain(path);
    }
  });

  it('every plan compiles to rules the store accepts', () => {
    const store = new MemoryRateLimitStore();
    for (const plan of Object.keys(PLAN_RATE_LIMITS)) {
      const policy = compilePolicy(plan, undefined);
      for (const cls of ENDPOINT_CLASSES) {
        expect(store.consumeSync(`${plan}:${cls}`, policy.rules[cls]).allowed).toBe(true);
      }
    }
  });

  it('scales every limit to a share, never below one', () => {
    const rules = compilePolicy('free', undefined).rules.admin;
    expect(shareOf(rules, 0.5).map((r) => r.limit)).toEqual(
      rules.map((r) => Math.floor(r.limit / 2)),
    );
    expect(shareOf(rules, 0.0001).every((r) => r.limit === 1)).toBe(true);
    expect(shareOf(rules, 1)).toEqual(rules);
  });
});
