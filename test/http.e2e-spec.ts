import { Controller, Get, Post } from '@nestjs/common';
import { CollectionsService } from '@app/vectors/collections.service';
import { Public, RequireScopes } from '@app/gateway/access.decorators';
import { SCOPES } from '@app/keys/scopes';
import { startApp, type HttpResponse, TestApp, TestTenant } from './support/harness';
import { expectProblem } from './support/vectors-problem';
import { ENDPOINT_CLASSES } from '@app/gateway/rate-limit/rate-limit-policy';
import { walkApp, walkController, type WalkedRoute } from './support/vectors-routes';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'] as const;

interface OpenApiOperation {
  responses?: Record<
    string,
    { $ref?: string; content?: Record<string, { schema?: { $ref?: string } }> }
  >;
  security?: Array<Record<string, string[]>>;
}
type OpenApiDocument = {
  openapi: string;
  paths: Record<string, Partial<Record<(typeof HTTP_METHODS)[number], OpenApiOperation>>>;
  components: { securitySchemes?: Record<string, unknown>; schemas?: Record<string, unknown> };
};

/** Where a walked route is actually served: under /v1 unless the prefix excludes it. */
function servedPath(api: TestApp, route: WalkedRoute): string {
  const fastify = api.app.getHttpAdapter().getInstance();
  for (const url of [`/v1${route.path}`, route.path]) {
    if (fastify.hasRoute({ method: route.method, url })) return url;
  }
  throw new Error(
    `${route.controller}.${route.handler} (${route.method} ${route.path}) is not served`,
  );
}

/** A concrete URL for a route template: every :param becomes a harmless value. */
function concrete(path: string): string {
  return path.replace(/:[A-Za-z0-9_]+/g, '00000000-0000-4000-8000-000000000000');
}

describe('http (e2e)', () => {
  let api: TestApp;
  let t: TestTenant;

  beforeAll(async () => {
    api = await startApp();
    t = await api.createTenant('http');
    await t.collection('c', 2, 'l2');
  });
  afterAll(() => api.close());

  describe('error responses', () => {
    it.each([
      ['a truncated object', '{"vectors": ['],
      ['unquoted keys', '{vectors: []}'],
      ['a trailing comma', '{"vectors": [],}'],
      ['a bare word', 'nul'],
      ['an empty body', ''],
    ])('answers a JSON body with %s with 400 invalid_json', async (_label, rawBody) => {
      const r = await api.request('POST', '/v1/collections/c/vectors', {
        token: t.adminKey,
        rawBody,
        headers: { 'content-type': 'application/json' },
      });
      expectProblem(r, 400, 'invalid_json');
    });

    it.each([
      ['text/plain', '{"vectors":[{"id":"a","values":[1,2]}]}'],
      ['application/x-www-form-urlencoded', 'vectors=1'],
      ['application/xml', '<vectors/>'],
      ['multipart/form-data; boundary=x', '--x--'],
    ])(
      'answers a body sent as %s with 415 unsupported_media_type and stores nothing',
      async (type, rawBody) => {
        const r = await api.request('POST', '/v1/collections/c/vectors', {
          token: t.adminKey,
          rawBody,
          headers: { 'content-type': type },
        });
        expectProblem(r, 415, 'unsupported_media_type');
        expect((await t.request('POST', '/collections/c/vectors/count', {})).body.count).toBe(0);
      },
    );

    it.each([
      ['GET', '/v1/nope'],
      ['GET', '/nope'],
      ['POST', '/v1/collections/c/vectors/nope'],
      ['PUT', '/v1/collections/c'],
      ['GET', '/v1/collections/c/search'],
      ['GET', '/v2/collections'],
    ])('answers %s %s with 404 route_not_found', async (method, path) => {
      expectProblem(await api.request(method, path, { token: t.adminKey }), 404, 'route_not_found');
    });

    it('answers a URL with invalid percent-encoding with a 4xx problem document', async () => {
      const r = await api.request('GET', '/v1/collections/a%ED%A0%80b', { token: t.adminKey });
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expectProblem(r, r.status, r.body?.code);
    });

    it('answers an over-long path parameter with a 4xx problem document', async () => {
      const r = await api.request('GET', `/v1/collections/${'n'.repeat(700)}`, {
        token: t.adminKey,
      });
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expectProblem(r, r.status, r.body?.code);
    });

    it('every kind of error carries x-request-id equal to body.requestId, a fresh one each time, and no internals', async () => {
      const reader = await t.key(['vectors:read']);
      const cases: Array<[number, string, () => Promise<HttpResponse>]> = [
        [401, 'unauthenticated', () => api.request('GET', '/v1/collections')],
        [
          401,
          'invalid_api_key',
          () => api.request('GET', '/v1/collections', { token: 'qvr_test_nope' }),
        ],
        [
          401,
          'invalid_platform_token',
          () => api.request('GET', '/v1/admin/tenants', { token: t.adminKey }),
        ],
        [
          403,
          'insufficient_scope',
          () => t.request('POST', '/collections', { name: 'x', dimension: 2 }, reader.secret),
        ],
        [
          400,
          'validation_failed',
          () => t.request('POST', '/collections', { name: 'x', dimension: 0 }),
        ],
        [404, 'collection_not_found', () => t.request('GET', '/collections/none')],
        [
          409,
          'collection_exists',
          () => t.request('POST', '/collections', { name: 'c', dimension: 2 }),
        ],
        [
          400,
          'dimension_mismatch',
          () => t.request('POST', '/collections/c/search', { vector: [1] }),
        ],
        [
          400,
          'invalid_filter',
          () => t.request('POST', '/collections/c/vectors/count', { filter: { $x: 1 } }),
        ],
        [404, 'route_not_found', () => api.request('GET', '/v1/none')],
        [
          400,
          'invalid_json',
          () =>
            api.request('POST', '/v1/collections', {
              token: t.adminKey,
              rawBody: '{',
              headers: { 'content-type': 'application/json' },
            }),
        ],
      ];
      const ids = new Set<string>();
      for (const [status, code, call] of cases) {
        const r = await call();
        expectProblem(r, status, code);
        expect(r.body.requestId).toMatch(UUID);
        ids.add(r.body.requestId);
      }
      expect(ids.size).toBe(cases.length);
    });

    it('echoes a valid caller-supplied X-Request-Id on success and on error', async () => {
      const id = 'client-req_42.a:B';
      const ok = await api.request('GET', '/v1/collections', {
        token: t.adminKey,
        headers: { 'x-request-id': id },
      });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-request-id')).toBe(id);
      const err = await api.request('GET', '/v1/collections/none', {
        token: t.adminKey,
        headers: { 'x-request-id': id },
      });
      expectProblem(err, 404, 'collection_not_found');
      expect(err.body.requestId).toBe(id);
    });

    it.each([['has spaces'], ['x'.repeat(129)], ['semi;colon'], ['<script>']])(
      'replaces an unsafe X-Request-Id %p with a generated one',
      async (id) => {
        const r = await api.request('GET', '/v1/collections/none', {
          token: t.adminKey,
          headers: { 'x-request-id': id },
        });
        expectProblem(r, 404, 'collection_not_found');
        expect(r.body.requestId).toMatch(UUID);
      },
    );

    it('answers an unexpected error with 500 internal_error carrying only an errorId, nothing of the error', async () => {
      // Fault injection: a real provider of the running app throws what a driver or a bug would throw.
      const service = api.app.get(CollectionsService);
      const boom = new Error('Error: connect ECONNREFUSED 10.0.0.5:5432 password=hunter2');
      const spy = jest.spyOn(service, 'list').mockRejectedValueOnce(boom);
      try {
        const r = await t.request('GET', '/collections');
        expectProblem(r, 500, 'internal_error');
        expect(Object.keys(r.body).sort()).toEqual(
          ['code', 'detail', 'errorId', 'instance', 'requestId', 'status', 'title', 'type'].sort(),
        );
        expect(r.body.errorId).toMatch(UUID);
        expect(r.body.errorId).not.toBe(r.body.requestId);
        expect(r.body.detail).toBe('An unexpected error occurred.');
        const text = JSON.stringify(r.body);
        for (const leak of ['hunter2', 'ECONNREFUSED', '10.0.0.5', 'stack'])
          expect(text).not.toContain(leak);
        expect(spy).toHaveBeenCalledTimes(1);
      } finally {
        spy.mockRestore();
      }
      // The next call is served normally.
      expect((await t.request('GET', '/collections')).status).toBe(200);
    });
  });

  describe('body limit', () => {
    let small: TestApp;
    let st: TestTenant;

    beforeAll(async () => {
      small = await startApp({ BODY_LIMIT_BYTES: '2048' });
      st = await small.createTenant('limit');
      await st.collection('c', 2, 'l2');
    });
    afterAll(() => small.close());

    it('answers a body over BODY_LIMIT_BYTES with 413 payload_too_large and stores nothing', async () => {
      const vectors = Array.from({ length: 80 }, (_, i) => ({ id: `v${i}`, values: [i, i] }));
      const body = JSON.stringify({ vectors });
      expect(Buffer.byteLength(body)).toBeGreaterThan(2048);
      const r = await small.request('POST', '/v1/collections/c/vectors', {
        token: st.adminKey,
        rawBody: body,
        headers: { 'content-type': 'application/json' },
      });
      expectProblem(r, 413, 'payload_too_large');
      expect((await st.request('POST', '/collections/c/vectors/count', {})).body.count).toBe(0);
    });

    it('accepts a body just under BODY_LIMIT_BYTES', async () => {
      const vectors = Array.from({ length: 40 }, (_, i) => ({ id: `v${i}`, values: [i, i] }));
      expect(Buffer.byteLength(JSON.stringify({ vectors }))).toBeLessThan(2048);
      expect(await st.upsert('c', vectors)).toMatchObject({ inserted: 40 });
    });
  });

  describe('OpenAPI and docs', () => {
    let doc: OpenApiDocument;

    beforeAll(async () => {
      const r = await api.request<OpenApiDocument>('GET', '/openapi.json');
      expect(r.status).toBe(200);
      doc = r.body;
    });

    function operations(
      filter: (path: string) => boolean,
    ): Array<[string, string, OpenApiOperation]> {
      return Object.entries(doc.paths)
        .filter(([path]) => filter(path))
        .flatMap(([path, item]) =>
          HTTP_METHODS.filter((m) => item[m] !== undefined).map(
            (m) => [path, m, item[m]!] as [string, string, OpenApiOperation],
          ),
        );
    }

    it('GET /openapi.json is an OpenAPI 3 document with the api-key, api-key-header and platform-admin schemes', () => {
      expect(doc.openapi).toMatch(/^3\./);
      expect(Object.keys(doc.components.securitySchemes ?? {})).toEqual(
        expect.arrayContaining(['api-key', 'api-key-header', 'platform-admin']),
      );
      expect(doc.components.schemas).toHaveProperty('ProblemDto');
    });

    /** The /v1 operations that take no credential: signing in, and the keys that verify sessions. */
    const PUBLIC_V1_OPERATIONS = [
      'POST /v1/auth/{tenantSlug}/login',
      'POST /v1/auth/{tenantSlug}/token/refresh',
      'POST /v1/auth/{tenantSlug}/logout',
      'GET /v1/auth/jwks',
      'GET /v1/auth/{tenantSlug}/{connectionId}/login',
      'POST /v1/auth/{tenantSlug}/{connectionId}/login',
      'GET /v1/auth/{tenantSlug}/{connectionId}/callback',
      'POST /v1/auth/{tenantSlug}/{connectionId}/callback',
      'GET /v1/auth/{tenantSlug}/{connectionId}/metadata',
      'POST /v1/auth/{tenantSlug}/token/exchange',
    ];

    it('documents every /v1 operation with an error response referencing ProblemDto and a security requirement', () => {
      const ops = operations((p) => p.startsWith('/v1/'));
      expect(ops.length).toBeGreaterThan(10);
      const problems: string[] = [];
      for (const [path, method, op] of ops) {
        const label = `${method.toUpperCase()} ${path}`;
        const errorRefs = Object.entries(op.responses ?? {})
          .filter(([status]) => Number(status) >= 400 || status === 'default')
          .flatMap(([, res]) => [
            res.$ref,
            ...Object.values(res.content ?? {}).map((c) => c.schema?.$ref),
          ]);
        if (!errorRefs.includes('#/components/schemas/ProblemDto'))
          problems.push(`${label}: no ProblemDto error response`);
        const schemes = (op.security ?? []).flatMap((s) => Object.keys(s));
        const isPublic = PUBLIC_V1_OPERATIONS.includes(label);
        if (schemes.length === 0 && !isPublic) problems.push(`${label}: no security`);
        if (schemes.length > 0 && isPublic)
          problems.push(`${label}: public, but asks for a credential`);
        for (const scheme of schemes) {
          if (!(scheme in (doc.components.securitySchemes ?? {})))
            problems.push(`${label}: unknown scheme ${scheme}`);
        }
      }
      expect(problems).toEqual([]);
    });

    it('documents the health routes without a security requirement', () => {
      for (const path of ['/health/live', '/health/ready']) {
        const op = doc.paths[path]?.get;
        expect({ path, documented: op !== undefined }).toEqual({ path, documented: true });
        expect(op?.security ?? []).toEqual([]);
      }
    });

    it('documents exactly the routes the controllers serve', () => {
      const served = walkApp(api.app).map(
        (r) =>
          `${r.method.toLowerCase()} ${servedPath(api, r).replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`,
      );
      const documented = operations(() => true).map(([path, method]) => `${method} ${path}`);
      expect(documented.sort()).toEqual(served.sort());
    });

    it('GET /docs serves the Swagger UI as HTML', async () => {
      let r = await api.request('GET', '/docs');
      if (r.status >= 300 && r.status < 400) r = await api.request('GET', '/docs/');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/html/);
      expect(String(r.body)).toMatch(/swagger-ui/i);
      // A page: its own policy, which lets Swagger UI run its inline scripts and styles.
      expect(r.headers.get('content-security-policy')).toContain(
        "script-src 'self' 'unsafe-inline'",
      );
      expect(r.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    });
  });

  describe('security headers', () => {
    it.each([
      ['GET', '/health/live', 200],
      ['GET', '/openapi.json', 200],
      ['GET', '/v1/collections', 401],
      ['GET', '/v1/no-such-route', 404],
      ['GET', '/docsx', 404],
    ] as const)(
      '%s %s (%i) carries the API policy: no content, no framing',
      async (m, path, status) => {
        const r = await api.request(m, path);
        expect(r.status).toBe(status);
        expect(r.headers.get('content-security-policy')).toBe(
          "default-src 'none';frame-ancestors 'none'",
        );
        expect(r.headers.get('x-frame-options')).toBe('DENY');
        expect(r.headers.get('x-content-type-options')).toBe('nosniff');
        expect(r.headers.get('strict-transport-security')).toMatch(/^max-age=31536000/);
        expect(r.headers.get('x-request-id')).toBeTruthy();
        for (const htmlOnly of ['x-xss-protection', 'x-download-options', 'origin-agent-cluster'])
          expect(r.headers.get(htmlOnly)).toBeNull();
      },
    );
  });

  describe('health', () => {
    it('GET /health/live answers 200 without a credential', async () => {
      const r = await api.request('GET', '/health/live');
      expect(r.status).toBe(200);
      expect(r.body.status).toBe('ok');
    });

    it('GET /health/ready answers 200 with the database and Redis up', async () => {
      const r = await api.request('GET', '/health/ready');
      expect(r.status).toBe(200);
      expect(r.body.status).toBe('ok');
      expect(r.body.info).toEqual({ database: { status: 'up' }, redis: { status: 'up' } });
    });
  });

  describe('route walk', () => {
    const KINDS = ['public', 'platform_admin', 'api_key'];

    function undeclared(routes: WalkedRoute[]): string[] {
      return routes
        .filter((r) => {
          const rule = r.rule;
          if (!rule || !KINDS.includes(rule.kind)) return true;
          if (rule.kind !== 'api_key') return false;
          return (
            rule.anyOf.length === 0 ||
            !rule.anyOf.every((s) => (SCOPES as readonly string[]).includes(s))
          );
        })
        .map((r) => `${r.controller}.${r.handler} (${r.method} ${r.path})`);
    }

    it('finds every controller route of the app', () => {
      const names = walkApp(api.app).map((r) => `${r.controller}.${r.handler}`);
      expect(names).toEqual(
        expect.arrayContaining([
          'HealthController.live',
          'HealthController.ready',
          'TenantsController.create',
          'KeysController.create',
          'CollectionsController.create',
          'VectorsController.search',
          'VectorsController.upsert',
        ]),
      );
    });

    it('every controller route declares an access rule: public, platform_admin, or api_key with known scopes', () => {
      const routes = walkApp(api.app);
      expect(routes.length).toBeGreaterThan(15);
      expect(undeclared(routes)).toEqual([]);
    });

    it('every api-key route declares the rate-limit endpoint class it counts against', () => {
      const routes = walkApp(api.app).filter((r) => r.rule?.kind === 'api_key');
      expect(routes.length).toBeGreaterThan(10);
      const missing = routes
        .filter((r) => !r.endpointClass || !ENDPOINT_CLASSES.includes(r.endpointClass))
        .map((r) => `${r.controller}.${r.handler}`);
      expect(missing).toEqual([]);
      const byClass = Object.fromEntries(
        routes.map((r) => [`${r.controller}.${r.handler}`, r.endpointClass]),
      );
      expect(byClass).toMatchObject({
        'VectorsController.search': 'search',
        'VectorsController.upsert': 'write',
        'VectorsController.fetch': 'read',
        'KeysController.create': 'admin',
        'CollectionsController.create': 'admin',
      });
    });

    it('the walk flags a route that declares no access rule, and sees class-level rules', () => {
      @Controller('unguarded')
      class UnguardedController {
        @Get()
        open(): string {
          return 'x';
        }
        @RequireScopes('vectors:read')
        @Post()
        guarded(): string {
          return 'y';
        }
      }
      @Public()
      @Controller('all-public')
      class PublicController {
        @Get()
        open(): string {
          return 'x';
        }
      }
      expect(undeclared(walkController(UnguardedController))).toEqual([
        'UnguardedController.open (GET /unguarded)',
      ]);
      expect(undeclared(walkController(PublicController))).toEqual([]);
    });

    it('every route that is not public refuses a request without a credential with 401 unauthenticated', async () => {
      const failures: string[] = [];
      for (const route of walkApp(api.app)) {
        const url = concrete(servedPath(api, route));
        const body = ['POST', 'PUT', 'PATCH'].includes(route.method) ? {} : undefined;
        const r = await api.request(route.method, url, { body });
        const line = `${route.method} ${url}: ${r.status} ${r.body?.code ?? ''}`;
        if (route.rule?.kind === 'public') {
          if (r.status === 401 || r.status >= 500) failures.push(line);
          continue;
        }
        if (r.status !== 401 || r.body?.code !== 'unauthenticated') failures.push(line);
        else {
          expectProblem(r, 401, 'unauthenticated');
          expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
        }
      }
      expect(failures).toEqual([]);
    });

    it('platform routes refuse a tenant API key, and API-key routes refuse a platform token', async () => {
      const failures: string[] = [];
      for (const route of walkApp(api.app)) {
        if (route.rule?.kind === 'public') continue;
        const url = concrete(servedPath(api, route));
        const body = ['POST', 'PUT', 'PATCH'].includes(route.method) ? {} : undefined;
        const token = route.rule?.kind === 'platform_admin' ? t.adminKey : api.platformToken;
        const code =
          route.rule?.kind === 'platform_admin' ? 'invalid_platform_token' : 'invalid_api_key';
        const r = await api.request(route.method, url, { token, body });
        if (r.status !== 401 || r.body?.code !== code)
          failures.push(`${route.method} ${url}: ${r.status} ${r.body?.code}`);
      }
      expect(failures).toEqual([]);
    });
  });
});
