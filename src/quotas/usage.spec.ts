import { endpointClass } from './usage-recorder';
import { window } from './usage.service';

describe('endpointClass', () => {
  it.each([
    ['/v1/collections/:collection/search', 'POST', 'search'],
    ['/v1/collections/:collection/vectors', 'POST', 'upsert'],
    ['/v1/collections/:collection/vectors/fetch', 'POST', 'fetch'],
    ['/v1/collections/:collection/vectors/delete', 'POST', 'delete'],
    ['/v1/collections/:collection/vectors/count', 'POST', 'count'],
    ['/v1/collections', 'GET', 'collections'],
    ['/v1/collections/:collection', 'DELETE', 'collections'],
    ['/v1/keys/:keyId/rotate', 'POST', 'keys'],
    ['/v1/usage', 'GET', 'admin'],
    ['/v1/quotas', 'GET', 'admin'],
  ])('%s %s is %s', (route, method, expected) => {
    expect(endpointClass(route, method)).toBe(expected);
  });
});

describe('usage window', () => {
  it('aligns to whole periods and defaults to the last 24 hours or 30 days', () => {
    const w = window({ from: '2026-01-01T10:20:00Z', to: '2026-01-01T12:05:00Z' });
    expect(w).toEqual({
      granularity: 'hour',
      from: new Date('2026-01-01T10:00:00Z'),
      to: new Date('2026-01-01T13:00:00Z'),
    });
    const d = window({ granularity: 'day', to: '2026-01-31T00:00:00Z' });
    expect(d.from).toEqual(new Date('2026-01-01T00:00:00Z'));
  });

  it('refuses an empty or too long window with validation_failed', () => {
    expect(() => window({ from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' })).toThrow(
      expect.objectContaining({ code: 'validation_failed' }),
    );
    expect(() =>
      window({ granularity: 'day', from: '2024-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }),
    ).toThrow(expect.objectContaining({ code: 'validation_failed' }));
    expect(
      window({ granularity: 'hour', from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z' }).to,
    ).toEqual(new Date('2026-02-01T00:00:00Z'));
  });
});
