import {
  API_HELMET_OPTIONS,
  DOCS_HELMET_OPTIONS,
  isDocsPath,
  securityHeaders,
} from './security-headers';

describe('securityHeaders', () => {
  it('gives the API a policy that allows no content and no framing, and only headers that apply to JSON', () => {
    const h = securityHeaders(API_HELMET_OPTIONS);
    expect(h).toEqual({
      'content-security-policy': "default-src 'none';frame-ancestors 'none'",
      'cross-origin-resource-policy': 'same-origin',
      'referrer-policy': 'no-referrer',
      'strict-transport-security': 'max-age=31536000; includeSubDomains',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
    });
    expect(Object.isFrozen(h)).toBe(true);
  });

  it("gives Swagger UI's page helmet's headers with the inline styles and scripts it needs", () => {
    const h = securityHeaders(DOCS_HELMET_OPTIONS);
    expect(h['content-security-policy']).toContain("default-src 'self'");
    expect(h['content-security-policy']).toContain("script-src 'self' 'unsafe-inline'");
    expect(h['content-security-policy']).toContain("img-src 'self' data:");
    expect(h['content-security-policy']).toContain("frame-ancestors 'self'");
    expect(h['x-content-type-options']).toBe('nosniff');
    expect(h['strict-transport-security']).toMatch(/^max-age=\d+/);
    expect(h['x-frame-options']).toBe('SAMEORIGIN');
    expect(h['x-powered-by']).toBeUndefined();
  });

  it('refuses an invalid policy at boot rather than per request', () => {
    expect(() =>
      securityHeaders({ contentSecurityPolicy: { directives: { defaultSrc: ['self'] } } }),
    ).toThrow();
  });
});

describe('isDocsPath', () => {
  it.each(['/docs', '/docs/', '/docs/swagger-ui-bundle.js', '/docs?x=1', '/docs/?a'])(
    '%s is Swagger UI',
    (url) => expect(isDocsPath(url)).toBe(true),
  );

  it.each([
    '/',
    '/doc',
    '/docsx',
    '/docs.json',
    '/v1/docs',
    '/v1/collections/docs',
    '//docs',
    '/DOCS',
  ])('%s is the API', (url) => expect(isDocsPath(url)).toBe(false));
});
