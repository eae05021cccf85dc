import { createHmac } from 'node:crypto';
import { buildSignatureBase, checkComponents, signatureBase } from './signature-base';
import type { SignableRequest } from './signature-types';

const PARAMS = '("x");created=1;keyid="k"';

function request(targetUri: string, headers: SignableRequest['headers'] = {}): SignableRequest {
  return { method: 'GET', targetUri, headers };
}

function derive(targetUri: string, component: string): string {
  const base = signatureBase(request(targetUri), [component], PARAMS);
  return base.split('\n')[0].slice(`"${component}": `.length);
}

describe('derived components (RFC 9421 2.2)', () => {
  it('takes @method as received', () => {
    const base = signatureBase(
      { method: 'POST', targetUri: 'https://a.example/', headers: {} },
      ['@method'],
      PARAMS,
    );
    expect(base).toBe(`"@method": POST\n"@signature-params": ${PARAMS}`);
  });

  it('takes @target-uri verbatim', () => {
    const uri = 'https://API.example.com:8443/v1/x?b=2&a=1';
    expect(derive(uri, '@target-uri')).toBe(uri);
  });

  it('lower-cases @authority and drops the default port only', () => {
    expect(derive('https://API.Example.com/x', '@authority')).toBe('api.example.com');
    expect(derive('https://api.example.com:443/x', '@authority')).toBe('api.example.com');
    expect(derive('http://api.example.com:80/x', '@authority')).toBe('api.example.com');
    expect(derive('http://api.example.com:443/x', '@authority')).toBe('api.example.com:443');
    expect(derive('https://api.example.com:8443/x', '@authority')).toBe('api.example.com:8443');
    expect(derive('http://[::1]:3000/x', '@authority')).toBe('[::1]:3000');
  });

  it('lower-cases @scheme', () => {
    expect(derive('HTTPS://api.example.com/', '@scheme')).toBe('https');
    expect(derive('http://api.example.com/', '@scheme')).toBe('http');
  });

  it('gives "/" for an empty @path and keeps the path raw (no dot-segment removal or re-encoding)', () => {
    expect(derive('https://a.example', '@path')).toBe('/');
    expect(derive('https://a.example?x=1', '@path')).toBe('/');
    expect(derive('https://a.example/v1/c/../d/%7Ex', '@path')).toBe('/v1/c/../d/%7Ex');
  });

  it('gives "?" plus the raw query for @query, and "?" alone when there is none', () => {
    expect(derive('https://a.example/p?param=Value&Pet=dog', '@query')).toBe(
      '?param=Value&Pet=dog',
    );
    expect(derive('https://a.example/p', '@query')).toBe('?');
    expect(derive('https://a.example/p?', '@query')).toBe('?');
    expect(derive('https://a.example/p?a=%20b&c', '@query')).toBe('?a=%20b&c');
  });

  it.each([
    ['a relative URI', '/v1/x'],
    ['a fragment', 'https://a.example/x#frag'],
    ['user information', 'https://user@a.example/x'],
    ['another scheme', 'ftp://a.example/x'],
    ['a space', 'https://a.example/a b'],
    ['a backslash that WHATWG URL would read as a slash', 'https://a.example\\b.example/x'],
    ['a non-normal authority', 'http://0x7f.1/x'],
    ['an empty port', 'https://a.example:/x'],
    ['a non-ASCII host', 'https://bücher.example/x'],
    ['no host', 'https:///x'],
  ])('refuses a target URI with %s', (_name, uri) => {
    const result = buildSignatureBase(request(uri), ['@authority'], PARAMS);
    expect(result.ok).toBe(false);
  });

  it('does not look at the target URI when no URI component is covered', () => {
    const result = buildSignatureBase(request('not a uri', { a: 'b' }), ['a'], PARAMS);
    expect(result.ok).toBe(true);
  });

  it('refuses a method that is not a token', () => {
    const result = buildSignatureBase(
      { method: 'GET /x', targetUri: 'https://a.example/', headers: {} },
      ['@method'],
      PARAMS,
    );
    expect(result.ok).toBe(false);
  });
});

describe('field components (RFC 9421 2.1)', () => {
  const uri = 'https://a.example/';

  it('trims each value and joins repeated fields with ", "', () => {
    const req = request(uri, { 'x-list': ['  a ', '\tb,c  '], 'x-one': '  v  ', 'x-empty': '' });
    expect(signatureBase(req, ['x-list', 'x-one', 'x-empty'], PARAMS)).toBe(
      `"x-list": a, b,c\n"x-one": v\n"x-empty": \n"@signature-params": ${PARAMS}`,
    );
  });

  it('refuses a covered field that is not in the request', () => {
    expect(buildSignatureBase(request(uri, { b: '1' }), ['a'], PARAMS)).toEqual({
      ok: false,
      error: 'the a field is not in the request',
    });
    expect(buildSignatureBase(request(uri, { a: undefined }), ['a'], PARAMS).ok).toBe(false);
    expect(buildSignatureBase(request(uri, { a: [] }), ['a'], PARAMS).ok).toBe(false);
  });

  it('refuses values that would break the line structure or are not ASCII', () => {
    for (const value of ['a\nb', 'a\rb', 'a\u0000b', 'caf\u00e9']) {
      expect(buildSignatureBase(request(uri, { a: value }), ['a'], PARAMS).ok).toBe(false);
    }
  });

  it('handles long runs of spaces and long URIs in linear time', () => {
    const started = Date.now();
    const spaced = `a${' '.repeat(200_000)}b`;
    expect(buildSignatureBase(request(uri, { a: `  ${spaced}  ` }), ['a'], PARAMS)).toEqual({
      ok: true,
      base: `"a": ${spaced}\n"@signature-params": ${PARAMS}`,
    });
    const longHost = `https://${'a'.repeat(200_000)}#`;
    expect(buildSignatureBase(request(longHost), ['@authority'], PARAMS).ok).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('throws from signatureBase, the test helper, on what buildSignatureBase refuses', () => {
    expect(() => signatureBase(request(uri), ['a'], PARAMS)).toThrow('not in the request');
  });
});

describe('checkComponents', () => {
  it.each([
    [['@request-target'], '@request-target is not supported'],
    [['@query-param'], 'unsupported derived component'],
    [['@status'], 'unsupported derived component'],
    [['@signature-params'], 'unsupported derived component'],
    [['Content-Type'], 'not a lower-case field name'],
    [['content-type;sf'], 'not a lower-case field name'],
    [['a b'], 'not a lower-case field name'],
    [[''], 'not a lower-case field name'],
    [['signature'], 'cannot be covered'],
    [['signature-input'], 'cannot be covered'],
    [['@method', 'date', '@method'], 'covered twice'],
    [Array.from({ length: 21 }, (_, i) => `x-${i}`), 'at most 20'],
  ])('refuses %j', (components, message) => {
    expect(checkComponents(components)).toContain(message);
  });

  it('accepts 20 distinct supported components', () => {
    expect(checkComponents(Array.from({ length: 20 }, (_, i) => `x-${i}`))).toBeUndefined();
    expect(
      checkComponents(['@method', '@target-uri', '@authority', '@scheme', '@path', '@query']),
    ).toBeUndefined();
  });
});

describe('RFC 9421 Appendix B.2.5 (hmac-sha256, test-shared-secret)', () => {
  const secret = Buffer.from(
    'uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==',
    'base64',
  );
  // The B.2 test request: POST /foo?param=Value&Pet=dog to example.com.
  const req: SignableRequest = {
    method: 'POST',
    targetUri: 'https://example.com/foo?param=Value&Pet=dog',
    headers: {
      host: 'example.com',
      date: 'Tue, 20 Apr 2021 02:07:55 GMT',
      'content-type': 'application/json',
      'content-digest':
        'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
      'content-length': '18',
    },
    body: Buffer.from('{"hello": "world"}'),
  };
  const params =
    '("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"';

  it('reproduces the published signature base and signature exactly', () => {
    const base = signatureBase(req, ['date', '@authority', 'content-type'], params);
    expect(base).toBe(
      [
        '"date": Tue, 20 Apr 2021 02:07:55 GMT',
        '"@authority": example.com',
        '"content-type": application/json',
        '"@signature-params": ("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
      ].join('\n'),
    );
    expect(createHmac('sha256', secret).update(base).digest('base64')).toBe(
      'pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=',
    );
  });
});
