import { compilePolicy } from '@app/gateway/rate-limit/rate-limit-policy';
import { KeyCache, VerifiedKey } from './key-cache';

const key = (keyId: string, tenantId = 't1'): VerifiedKey => ({
  keyId,
  tenantId,
  scopes: ['vectors:read'],
  tenantStatus: 'active',
  expiresAt: null,
  revokedAt: null,
  secretValidUntil: null,
  tenantAllowlist: null,
  keyAllowlist: null,
  collections: null,
  enforcedFilter: null,
  signatureRequired: false,
  signingSecrets: [],
  rateLimits: compilePolicy('free', undefined),
});

describe('KeyCache', () => {
  let now = 1_000;
  const cache = () => new KeyCache(100, 10, 3, () => now);

  beforeEach(() => (now = 1_000));

  it('returns a stored entry until its TTL passes', () => {
    const c = cache();
    c.set('h1', key('k1'), c.currentEpoch());
    expect(c.get('h1')?.keyId).toBe('k1');
    now += 100;
    expect(c.get('h1')).toBeUndefined();
  });

  it('keeps misses for the shorter negative TTL', () => {
    const c = cache();
    c.set('h1', null, c.currentEpoch());
    expect(c.get('h1')).toBeNull();
    now += 10;
    expect(c.get('h1')).toBeUndefined();
  });

  it('refuses a lookup result that raced an invalidation', () => {
    const c = cache();
    const epoch = c.currentEpoch();
    c.invalidateKey('k1'); // a revoke committed while the lookup was in flight
    c.set('h1', key('k1'), epoch);
    expect(c.get('h1')).toBeUndefined();
  });

  it('drops every hash of an invalidated key or tenant', () => {
    const c = cache();
    c.set('h1', key('k1'), c.currentEpoch());
    c.set('h2', key('k1'), c.currentEpoch());
    c.set('h3', key('k2', 't2'), c.currentEpoch());
    c.invalidateKey('k1');
    expect(c.get('h1')).toBeUndefined();
    expect(c.get('h2')).toBeUndefined();
    expect(c.get('h3')?.keyId).toBe('k2');
    c.invalidateTenant('t2');
    expect(c.get('h3')).toBeUndefined();
  });

  it('stays within its size bound', () => {
    const c = cache();
    for (let i = 0; i < 5; i++) c.set(`h${i}`, key(`k${i}`), c.currentEpoch());
    expect(c.get('h0')).toBeUndefined();
    expect(c.get('h4')?.keyId).toBe('k4');
  });
});
