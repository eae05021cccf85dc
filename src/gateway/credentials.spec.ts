import { extractCredential } from './credentials';

describe('extractCredential', () => {
  it('reads a bearer token or an X-API-Key header', () => {
    expect(extractCredential({ authorization: 'Bearer abc' })).toEqual({
      ok: true,
      credential: 'abc',
    });
    expect(extractCredential({ authorization: 'bearer abc' })).toEqual({
      ok: true,
      credential: 'abc',
    });
    expect(extractCredential({ 'x-api-key': 'abc' })).toEqual({ ok: true, credential: 'abc' });
  });

  it('accepts both headers only when they agree', () => {
    expect(extractCredential({ authorization: 'Bearer abc', 'x-api-key': 'abc' })).toEqual({
      ok: true,
      credential: 'abc',
    });
    expect(extractCredential({ authorization: 'Bearer abc', 'x-api-key': 'xyz' })).toEqual({
      ok: false,
      reason: 'conflicting',
    });
  });

  it('refuses other schemes, empty and oversized values', () => {
    expect(extractCredential({})).toEqual({ ok: false, reason: 'missing' });
    expect(extractCredential({ authorization: 'Basic dXNlcjpwYXNz' })).toEqual({
      ok: false,
      reason: 'malformed_header',
    });
    expect(extractCredential({ authorization: 'Bearer' })).toEqual({
      ok: false,
      reason: 'malformed_header',
    });
    expect(extractCredential({ authorization: 'Bearer a b' })).toEqual({
      ok: false,
      reason: 'malformed_header',
    });
    // An access token (JWT) fits; anything beyond 4 KiB does not.
    expect(extractCredential({ authorization: `Bearer ${'a'.repeat(4096)}` }).ok).toBe(true);
    expect(extractCredential({ authorization: `Bearer ${'a'.repeat(4097)}` })).toEqual({
      ok: false,
      reason: 'malformed_header',
    });
    expect(extractCredential({ 'x-api-key': 'a'.repeat(4097) })).toEqual({
      ok: false,
      reason: 'malformed_header',
    });
    expect(extractCredential({ 'x-api-key': '   ' })).toEqual({
      ok: false,
      reason: 'malformed_header',
    });
  });
});
