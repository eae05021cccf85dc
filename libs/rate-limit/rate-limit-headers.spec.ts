import { policyName, rateLimitHeaders, type Decision, type WindowRule } from './index';

const perSecond: WindowRule = { limit: 20, windowMs: 1000 };
const perMinute: WindowRule = { limit: 600, windowMs: 60_000 };

describe('rateLimitHeaders', () => {
  it('advertises every policy and the most constrained one, in draft-11 syntax', () => {
    const decision: Decision = {
      allowed: true,
      retryAfterMs: 0,
      rules: [
        { rule: perSecond, remaining: 12, resetMs: 340 },
        { rule: perMinute, remaining: 590, resetMs: 41_200 },
      ],
    };
    expect(rateLimitHeaders(decision)).toEqual({
      'RateLimit-Policy': '"1s";q=20;w=1, "1m";q=600;w=60',
      RateLimit: '"1s";r=12;t=1',
      'X-RateLimit-Limit': '20',
      'X-RateLimit-Remaining': '12',
      'X-RateLimit-Reset': '1',
    });
  });

  it('on a refusal adds Retry-After, rounded up, agreeing with the refusing rule', () => {
    const decision: Decision = {
      allowed: false,
      retryAfterMs: 41_200,
      rules: [
        { rule: perSecond, remaining: 0, resetMs: 340 },
        { rule: perMinute, remaining: 0, resetMs: 41_200 },
      ],
    };
    const headers = rateLimitHeaders(decision);
    // Both are spent; the minute frees up last, so it is the one to report.
    expect(headers['RateLimit']).toBe('"1m";r=0;t=42');
    expect(headers['Retry-After']).toBe('42');
    expect(headers['X-RateLimit-Limit']).toBe('600');
    expect(headers['X-RateLimit-Remaining']).toBe('0');
    expect(headers['X-RateLimit-Reset']).toBe('42');
  });

  it('never sends Retry-After: 0', () => {
    const decision: Decision = {
      allowed: false,
      retryAfterMs: 1,
      rules: [{ rule: { limit: 5, windowMs: 200 }, remaining: 0, resetMs: 1 }],
    };
    expect(rateLimitHeaders(decision)['Retry-After']).toBe('1');
  });

  it('omits w for a window that is not whole seconds, which the draft cannot express', () => {
    const decision: Decision = {
      allowed: true,
      retryAfterMs: 0,
      rules: [{ rule: { limit: 5, windowMs: 250 }, remaining: 4, resetMs: 250 }],
    };
    expect(rateLimitHeaders(decision)).toMatchObject({
      'RateLimit-Policy': '"250ms";q=5',
      RateLimit: '"250ms";r=4;t=1',
    });
  });

  it('gives an empty window a whole window as its effective window, not t=0', () => {
    // Stores never pick such a rule (an admission fills a window), but a hand-made decision may.
    const decision: Decision = {
      allowed: true,
      retryAfterMs: 0,
      rules: [{ rule: { limit: 10, windowMs: 10_000 }, remaining: 10, resetMs: 0 }],
    };
    expect(rateLimitHeaders(decision)['RateLimit']).toBe('"10s";r=10;t=10');
  });

  it('quotes names as sf-strings', () => {
    const decision: Decision = {
      allowed: true,
      retryAfterMs: 0,
      rules: [
        { rule: { limit: 1, windowMs: 1000, name: 'say "hi"\\ñ' }, remaining: 0, resetMs: 10 },
      ],
    };
    expect(rateLimitHeaders(decision)['RateLimit']).toBe('"say \\"hi\\"\\\\_";r=0;t=1');
  });
});

describe('policyName', () => {
  it('names a window by its largest whole unit', () => {
    expect(
      [1000, 60_000, 90_000, 3_600_000, 86_400_000, 1500, 200].map((windowMs) =>
        policyName({ limit: 1, windowMs }),
      ),
    ).toEqual(['1s', '1m', '90s', '1h', '1d', '1500ms', '200ms']);
    expect(policyName({ limit: 1, windowMs: 1000, name: 'burst' })).toBe('burst');
  });
});
