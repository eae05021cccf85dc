import type { Client } from 'pg';
import { ownerClient, startApp, TestApp } from './support/harness';
import {
  jsonText,
  Seeded,
  seedTenant,
  SHARED_NAME,
  snapshotViaApi,
  tenantRowCounts,
} from './support/isolation-fixtures';

/**
 * Cross-tenant isolation as a caller sees it: tenant A's key, aimed at anything of tenant B's, gets
 * 404 and changes nothing. "Nothing changed" is checked twice: through B's own key (what B can see)
 * and through the owner connection (the rows of A and B in every tenant-owned table).
 */

interface KeyEndpoint {
  route: string;
  method: string;
  path: (keyId: string) => string;
  body?: unknown;
}

interface CollectionEndpoint {
  route: string;
  /** What the body asks for, where one route is probed with different bodies. */
  variant?: string;
  method: string;
  path: (name: string) => string;
  body: (b: Seeded) => unknown;
}

const KEY_ENDPOINTS: KeyEndpoint[] = [
  { route: 'GET /v1/keys/{keyId}', method: 'GET', path: (id) => `/keys/${id}` },
  { route: 'DELETE /v1/keys/{keyId}', method: 'DELETE', path: (id) => `/keys/${id}` },
  {
    route: 'POST /v1/keys/{keyId}/rotate',
    method: 'POST',
    path: (id) => `/keys/${id}/rotate`,
    body: { gracePeriodSeconds: 0 },
  },
  {
    route: 'POST /v1/keys/{keyId}/signing-secret',
    method: 'POST',
    path: (id) => `/keys/${id}/signing-secret`,
    body: { gracePeriodSeconds: 0, requireSignature: true },
  },
];

const c = (name: string) => `/collections/${encodeURIComponent(name)}`;

const COLLECTION_ENDPOINTS: CollectionEndpoint[] = [
  {
    route: 'GET /v1/collections/{collection}',
    method: 'GET',
    path: c,
    body: () => undefined,
  },
  {
    route: 'DELETE /v1/collections/{collection}',
    method: 'DELETE',
    path: c,
    body: () => undefined,
  },
  {
    route: 'POST /v1/collections/{collection}/vectors',
    method: 'POST',
    path: (n) => `${c(n)}/vectors`,
    // Overwrites one of B's ids and adds a new one, if it ever reached B's collection.
    body: (b) => ({
      vectors: [
        { id: b.own.vectorIds[0], values: [0, 0, 1], metadata: { hijacked: true } },
        { id: 'planted-by-a', values: [0, 1, 0], metadata: { hijacked: true } },
      ],
    }),
  },
  {
    route: 'POST /v1/collections/{collection}/vectors/fetch',
    method: 'POST',
    path: (n) => `${c(n)}/vectors/fetch`,
    body: (b) => ({ ids: b.own.vectorIds }),
  },
  {
    route: 'POST /v1/collections/{collection}/vectors/delete',
    method: 'POST',
    path: (n) => `${c(n)}/vectors/delete`,
    variant: 'by ids',
    body: (b) => ({ ids: b.own.vectorIds }),
  },
  {
    route: 'POST /v1/collections/{collection}/vectors/delete',
    method: 'POST',
    path: (n) => `${c(n)}/vectors/delete`,
    variant: 'by filter',
    body: (b) => ({ filter: { label: b.label } }),
  },
  {
    route: 'POST /v1/collections/{collection}/vectors/count',
    method: 'POST',
    path: (n) => `${c(n)}/vectors/count`,
    body: () => ({}),
  },
  {
    route: 'POST /v1/collections/{collection}/search',
    method: 'POST',
    path: (n) => `${c(n)}/search`,
    body: () => ({ vector: [1, 0.1, 0.1], topK: 10, mode: 'exact', includeValues: true }),
  },
];

const USER_ENDPOINTS: Array<{ route: string; method: string; body?: unknown }> = [
  { route: 'GET /v1/users/{userId}', method: 'GET' },
  { route: 'PATCH /v1/users/{userId}', method: 'PATCH', body: { role: 'viewer' } },
  { route: 'DELETE /v1/users/{userId}', method: 'DELETE' },
];
const CONNECTION_ENDPOINTS: Array<{ route: string; method: string; body?: unknown }> = [
  { route: 'GET /v1/sso/connections/{connectionId}', method: 'GET' },
  { route: 'PATCH /v1/sso/connections/{connectionId}', method: 'PATCH', body: { enabled: false } },
  { route: 'DELETE /v1/sso/connections/{connectionId}', method: 'DELETE' },
];
/** Public sign-in routes under a tenant's slug: test/auth-*.e2e-spec.ts cross them with other tenants. */
const AUTH_SLUG_ROUTES = [
  'GET /v1/auth/{tenantSlug}/{connectionId}/login',
  'POST /v1/auth/{tenantSlug}/{connectionId}/login',
  'GET /v1/auth/{tenantSlug}/{connectionId}/callback',
  'POST /v1/auth/{tenantSlug}/{connectionId}/callback',
  'GET /v1/auth/{tenantSlug}/{connectionId}/metadata',
  'POST /v1/auth/{tenantSlug}/token/exchange',
  'POST /v1/auth/{tenantSlug}/login',
  'POST /v1/auth/{tenantSlug}/logout',
  'POST /v1/auth/{tenantSlug}/token/refresh',
];
const PASSWORD = 'isolation password 1';

describe('cross-tenant isolation over HTTP', () => {
  let api: TestApp;
  let owner: Client;
  let a: Seeded;
  let b: Seeded;

  beforeAll(async () => {
    // Usage is flushed at shutdown only: a timed flush of the snapshots' own requests would change
    // the usage rows between "before" and "after".
    api = await startApp({ USAGE_FLUSH_INTERVAL_MS: '3600000' });
    owner = await ownerClient();
    // One after the other: concurrent collection creation is its own test (isolation-pool).
    a = await seedTenant(api, 'a', 3);
    b = await seedTenant(api, 'b', 5);
  });
  afterAll(async () => {
    await owner?.end();
    await api?.close();
  });

  /** B as B sees it, plus the rows of both tenants as the database holds them. */
  async function state() {
    return {
      b: await snapshotViaApi(b),
      a: await snapshotViaApi(a),
      rowsA: await tenantRowCounts(owner, a.t.id),
      rowsB: await tenantRowCounts(owner, b.t.id),
    };
  }

  /** The 404 body may echo what A sent, but must name nothing else of B's. */
  function expectNoLeak(body: unknown, probe: string): void {
    const text = jsonText(body).split(probe).join('');
    for (const secret of [
      b.t.id,
      b.own.id,
      b.shared.id,
      b.t.adminKeyId,
      b.readKey.id,
      ...b.own.vectorIds,
    ]) {
      expect(text).not.toContain(secret);
    }
  }

  describe("tenant A's key on tenant B's key ids", () => {
    const keyProbes = (): Array<[string, string]> => [
      ["B's admin key id", b.t.adminKeyId],
      ["B's read key id", b.readKey.id],
      ["B's read key id in upper case", b.readKey.id.toUpperCase()],
      ["B's tenant id", b.t.id],
      ["B's collection id", b.own.id],
    ];

    it.each(KEY_ENDPOINTS.map((e) => [e.route, e] as const))(
      '%s answers 404 for every key id of another tenant and changes nothing',
      async (_route, endpoint) => {
        const before = await state();
        for (const [what, id] of keyProbes()) {
          const r = await a.t.request(endpoint.method, endpoint.path(id), endpoint.body);
          expect({ what, status: r.status, code: r.body?.code }).toEqual({
            what,
            status: 404,
            code: 'api_key_not_found',
          });
          expectNoLeak(r.body, id);
        }
        expect(await state()).toEqual(before);
        // B's keys were neither revoked nor rotated: their original secrets still authenticate.
        const viaReadKey = await b.t.request('GET', '/collections', undefined, b.readKey.secret);
        expect(viaReadKey.status).toBe(200);
        expect(viaReadKey.body.items.map((x: { id: string }) => x.id).sort()).toEqual(
          [b.shared.id, b.own.id].sort(),
        );
      },
    );
  });

  describe("tenant A's key on a collection name only tenant B has", () => {
    const nameProbes = (): Array<[string, string]> => [
      ["B's collection name", b.own.name],
      ["B's collection name in upper case", b.own.name.toUpperCase()],
      ["B's collection id used as a name", b.own.id],
      ['a SQL tautology', "x' OR '1'='1"],
      ["a SQL comment after B's name", `${b.own.name}' --`],
      ['a LIKE wildcard', '%'],
    ];

    it.each(
      COLLECTION_ENDPOINTS.map(
        (e) => [e.variant ? `${e.route} (${e.variant})` : e.route, e] as const,
      ),
    )('%s answers 404 and changes nothing of either tenant', async (_route, endpoint) => {
      const before = await state();
      for (const [what, name] of nameProbes()) {
        const r = await a.t.request(endpoint.method, endpoint.path(name), endpoint.body(b));
        expect({ what, status: r.status, code: r.body?.code }).toEqual({
          what,
          status: 404,
          code: 'collection_not_found',
        });
        expectNoLeak(r.body, name);
      }
      const after = await state();
      expect(after).toEqual(before);
      // And the state compared is not empty: B's vectors are really there to be protected.
      expect(after.rowsB[`vectors_c_${b.own.id.replace(/-/g, '')}`]).toBe(b.own.vectorIds.length);
    });
  });

  describe('a collection name both tenants use', () => {
    const shared = `/collections/${SHARED_NAME}`;

    it("fetching the other tenant's vector ids returns them as missing", async () => {
      const r = await a.t.request('POST', `${shared}/vectors/fetch`, {
        ids: [...b.shared.vectorIds, a.shared.vectorIds[0]],
      });
      expect(r.status).toBe(200);
      expect(r.body.vectors.map((v: { id: string }) => v.id)).toEqual([a.shared.vectorIds[0]]);
      expect(r.body.missing).toEqual(b.shared.vectorIds);
    });

    it("deleting by the other tenant's ids or metadata deletes nothing of theirs", async () => {
      const before = await snapshotViaApi(b);
      const byIds = await a.t.request('POST', `${shared}/vectors/delete`, {
        ids: b.shared.vectorIds,
      });
      expect(byIds.status).toBe(200);
      expect(byIds.body).toEqual({ deleted: 0 });
      const byFilter = await a.t.request('POST', `${shared}/vectors/delete`, {
        filter: { tenant: b.t.id },
      });
      expect(byFilter.status).toBe(200);
      expect(byFilter.body).toEqual({ deleted: 0 });
      expect(await snapshotViaApi(b)).toEqual(before);
    });

    it("counting and searching with the other tenant's metadata find nothing", async () => {
      const count = await a.t.request('POST', `${shared}/vectors/count`, {
        filter: { tenant: b.t.id },
      });
      expect(count.status).toBe(200);
      expect(count.body).toEqual({ count: 0 });
      const all = await a.t.request('POST', `${shared}/vectors/count`, {});
      expect(all.body).toEqual({ count: a.shared.vectorIds.length });
      const search = await a.t.request('POST', `${shared}/search`, {
        vector: [1, 0.1, 0.1],
        topK: 100,
        mode: 'exact',
        filter: { label: b.label },
      });
      expect(search.status).toBe(200);
      expect(search.body.matches).toEqual([]);
      const unfiltered = await a.t.request('POST', `${shared}/search`, {
        vector: [1, 0.1, 0.1],
        topK: 100,
        mode: 'approximate',
      });
      expect(unfiltered.body.matches.map((m: { id: string }) => m.id).sort()).toEqual(
        [...a.shared.vectorIds].sort(),
      );
    });

    it("upserting the other tenant's vector ids writes own rows and leaves theirs as they were", async () => {
      const before = await snapshotViaApi(b);
      const id = b.shared.vectorIds[0];
      const r = await a.t.request('POST', `${shared}/vectors`, {
        vectors: [{ id, values: [0, 0, 1], metadata: { writtenBy: 'a' } }],
      });
      expect(r.status).toBe(200);
      // An insert into A's collection, not an update of B's row with the same id.
      expect(r.body).toEqual({ upserted: 1, inserted: 1, updated: 0 });
      expect(await snapshotViaApi(b)).toEqual(before);
      const cleanup = await a.t.request('POST', `${shared}/vectors/delete`, { ids: [id] });
      expect(cleanup.body).toEqual({ deleted: 1 });
    });
  });

  describe('credentials used across the tenant/platform boundary', () => {
    const tenantRoutes = (): Array<[string, string, unknown?]> => [
      ['GET', '/v1/keys'],
      ['GET', `/v1/keys/${b.t.adminKeyId}`],
      ['POST', '/v1/keys', { name: 'x', scopes: ['tenant:admin'] }],
      ['GET', '/v1/collections'],
      ['GET', `/v1/collections/${b.own.name}`],
      ['POST', `/v1/collections/${b.own.name}/vectors/count`, {}],
      ['POST', `/v1/collections/${b.own.name}/search`, { vector: [1, 0, 0] }],
    ];

    it('refuses a platform admin token (401) on every tenant endpoint', async () => {
      for (const [method, path, body] of tenantRoutes()) {
        const r = await api.request(method, path, { token: api.platformToken, body });
        expect({ path, status: r.status, code: r.body?.code }).toEqual({
          path,
          status: 401,
          code: 'invalid_api_key',
        });
      }
    });

    it("refuses a tenant key (401) on platform admin endpoints, its own tenant's included", async () => {
      const before = await state();
      const adminRoutes: Array<[string, string, unknown?]> = [
        ['GET', '/v1/admin/tenants'],
        ['GET', `/v1/admin/tenants/${a.t.id}`],
        ['GET', `/v1/admin/tenants/${b.t.id}`],
        ['GET', `/v1/admin/tenants/${b.t.id}/settings`],
        ['POST', `/v1/admin/tenants/${b.t.id}/keys`, { name: 'x', scopes: ['tenant:admin'] }],
        ['POST', `/v1/admin/tenants/${b.t.id}/suspend`],
        ['DELETE', `/v1/admin/tenants/${b.t.id}?purge=now`],
        ['POST', '/v1/admin/tenants', { slug: 'intruder', name: 'Intruder' }],
      ];
      for (const [method, path, body] of adminRoutes) {
        const r = await api.request(method, path, { token: a.t.adminKey, body });
        expect({ path, status: r.status, code: r.body?.code }).toEqual({
          path,
          status: 401,
          code: 'invalid_platform_token',
        });
      }
      expect(await state()).toEqual(before);
      const bTenant = await api.admin('GET', `/tenants/${b.t.id}`);
      expect(bTenant.body.status).toBe('active');
    });

    it('refuses a request carrying two different tenants’ keys instead of picking one', async () => {
      const r = await api.request('GET', '/v1/collections', {
        token: a.t.adminKey,
        headers: { 'x-api-key': b.t.adminKey },
      });
      expect(r.status).toBe(401);
      expect(r.body.code).toBe('unauthenticated');
    });
  });

  describe('inputs an attacker would try', () => {
    it('treats malformed key ids as not found, never as a server error', async () => {
      const ids = [
        'not-a-uuid',
        "' OR '1'='1",
        `${b.readKey.id}'--`,
        `${b.readKey.id} `,
        '00000000-0000-0000-0000-000000000000',
        'a\u0000b',
        '%27%3B%20DROP%20TABLE%20api_keys%3B--',
      ];
      for (const id of ids) {
        for (const e of KEY_ENDPOINTS) {
          const r = await a.t.request(e.method, e.path(encodeURIComponent(id)), e.body);
          expect({ id, route: e.route, status: r.status, code: r.body?.code }).toEqual({
            id,
            route: e.route,
            status: 404,
            code: 'api_key_not_found',
          });
        }
      }
      const keys = await b.t.request('GET', '/keys');
      expect(keys.body.items.map((k: { status: string }) => k.status)).toEqual([
        'active',
        'active',
      ]);
    });

    it('treats injection-shaped collection names as not found and runs nothing they contain', async () => {
      const before = await state();
      const names = [
        "x'; DROP TABLE vectors; --",
        "shared' OR tenant_id IS NOT NULL --",
        'shared"; SELECT 1; --',
        '*',
        '../keys',
        'Ω≈ç√',
        // A NUL byte can never be in a name; it must not reach the database as a query parameter.
        'shared\u0000',
      ];
      for (const name of names) {
        for (const e of COLLECTION_ENDPOINTS) {
          const r = await a.t.request(e.method, e.path(name), e.body(b));
          expect({ name, route: e.route, status: r.status, code: r.body?.code }).toEqual({
            name,
            route: e.route,
            status: 404,
            code: 'collection_not_found',
          });
        }
      }
      expect(await state()).toEqual(before);
    });

    it('refuses over-long ids and names before they reach the database', async () => {
      const long = 'x'.repeat(300);
      for (const e of KEY_ENDPOINTS) {
        const r = await a.t.request(e.method, e.path(long), e.body);
        expect({ route: e.route, refused: [404, 414].includes(r.status) }).toEqual({
          route: e.route,
          refused: true,
        });
      }
      for (const e of COLLECTION_ENDPOINTS) {
        const r = await a.t.request(e.method, e.path(long), e.body(b));
        expect({ route: e.route, refused: [404, 414].includes(r.status) }).toEqual({
          route: e.route,
          refused: true,
        });
      }
    });

    it('answers a NUL byte in body vector ids with a client error, not a server error', async () => {
      for (const op of ['fetch', 'delete']) {
        const r = await a.t.request('POST', `/collections/${SHARED_NAME}/vectors/${op}`, {
          ids: ['a\u0000b'],
        });
        expect({ op, status: r.status, code: r.body?.code }).toEqual({
          op,
          status: 400,
          code: 'invalid_vector_id',
        });
      }
    });

    it('ignores a tenant id smuggled into the body or query of a tenant request', async () => {
      const before = await state();
      const list = await a.t.request('GET', `/collections?tenantId=${b.t.id}`);
      // Either refused as an unknown parameter or ignored: never B's collections.
      expect(jsonText(list.body)).not.toContain(b.own.id);
      const create = await a.t.request('POST', '/collections', {
        name: 'smuggled',
        dimension: 3,
        tenantId: b.t.id,
      });
      expect(create.status).toBe(400);
      expect(create.body.code).toBe('validation_failed');
      expect(await state()).toEqual(before);
    });
  });

  describe("tenant A on tenant B's users and sign-in", () => {
    let bUser: { id: string; email: string };
    let bRefresh: string;

    beforeAll(async () => {
      const email = `owner@${b.t.slug}.example`;
      const u = await api.admin('POST', `/tenants/${b.t.id}/users`, {
        email,
        role: 'owner',
        password: PASSWORD,
      });
      expect(u.status).toBe(201);
      bUser = { id: u.body.id, email };
      const l = await api.request('POST', `/v1/auth/${b.t.slug}/login`, {
        body: { email, password: PASSWORD },
      });
      expect(l.status).toBe(200);
      bRefresh = l.body.refreshToken;
    });

    it.each(USER_ENDPOINTS.map((e) => [e.route, e] as const))(
      "%s answers 404 for B's user id and changes nothing",
      async (_route, e) => {
        const before = await state();
        for (const id of [bUser.id, bUser.id.toUpperCase(), b.t.id]) {
          const r = await a.t.request(e.method, `/users/${id}`, e.body);
          expect({ id, status: r.status, code: r.body?.code }).toEqual({
            id,
            status: 404,
            code: 'user_not_found',
          });
          expectNoLeak(r.body, id);
        }
        expect(await state()).toEqual(before);
        const still = await b.t.request('GET', `/users/${bUser.id}`);
        expect(still.body).toMatchObject({ role: 'owner', status: 'active' });
      },
    );

    it.each(CONNECTION_ENDPOINTS.map((e) => [e.route, e] as const))(
      "%s answers 404 for B's SSO connection and changes nothing",
      async (_route, e) => {
        const created = await b.t.request('POST', '/sso/connections', {
          kind: 'oidc',
          name: 'B idp',
          issuer: 'https://idp.b.example',
          clientId: 'b-client',
          clientSecret: 'b-secret',
          redirectUris: ['https://console.b.example/'],
        });
        expect(created.status).toBe(201);
        const before = await state();
        const r = await a.t.request(e.method, `/sso/connections/${created.body.id}`, e.body);
        expect({ status: r.status, code: r.body?.code }).toEqual({
          status: 404,
          code: 'sso_connection_not_found',
        });
        expect(JSON.stringify(r.body)).not.toContain('b-secret');
        expect(await state()).toEqual(before);
        const still = await b.t.request('GET', `/sso/connections/${created.body.id}`);
        expect(still.body).toMatchObject({ enabled: true, clientSecretSet: true });
      },
    );

    it("B's password and refresh token do nothing under A's slug", async () => {
      const slug = a.t.slug;
      const login = await api.request('POST', `/v1/auth/${slug}/login`, {
        body: { email: bUser.email, password: PASSWORD },
      });
      expect(login.status).toBe(401);
      for (const path of ['token/refresh', 'logout']) {
        const r = await api.request('POST', `/v1/auth/${slug}/${path}`, {
          body: { refreshToken: bRefresh },
        });
        expect({ path, status: r.status, code: r.body.code }).toEqual({
          path,
          status: 401,
          code: 'invalid_refresh_token',
        });
      }
      // Neither the refresh nor the logout touched B's login: its token still refreshes.
      const own = await api.request('POST', `/v1/auth/${b.t.slug}/token/refresh`, {
        body: { refreshToken: bRefresh },
      });
      expect(own.status).toBe(200);
    });
  });

  it('covers every tenant route that takes an id or a name (a new one fails this test)', async () => {
    const doc = await api.request<{ paths: Record<string, Record<string, unknown>> }>(
      'GET',
      '/openapi.json',
    );
    expect(doc.status).toBe(200);
    const withParams = Object.entries(doc.body.paths)
      .filter(([path]) => path.includes('{') && !path.startsWith('/v1/admin'))
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    const covered = [
      ...new Set(
        [...KEY_ENDPOINTS, ...COLLECTION_ENDPOINTS, ...USER_ENDPOINTS, ...CONNECTION_ENDPOINTS].map(
          (e) => e.route,
        ),
      ),
      ...AUTH_SLUG_ROUTES,
    ];
    expect(withParams).toEqual(covered.sort());
  });
});
