import { register } from 'prom-client';
import { compilePolicy, PLAN_RATE_LIMITS } from '@app/gateway/rate-limit/rate-limit-policy';
import type { WindowRule } from '@libs/rate-limit';
import { startApp, TestApp, TestTenant } from './support/harness';
import { PrivateRedis } from './support/private-redis';
import { signedRequest } from './support/signed-client';

type Rules = Array<{ limit: number; window: string }>;

async function setLimits(t: TestTenant, rateLimits: Record<string, Rules>): Promise<void> {
  const r = await t.api.putSettings(t.id, { rateLimits });
  expect(r.status).toBe(200);
}

const search = (t: TestTenant, api: TestApp = t.api) =>
  api.request('POST', '/v1/collections/docs/search', {
    token: t.adminKey,
    body: { vector: [1, 0], topK: 1 },
  });
const list = (t: TestTenant, api: TestApp = t.api) =>
  api.request('GET', '/v1/collections', { token: t.adminKey });

async function statuses(calls: Array<Promise<{ status: number }>>): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const r of await Promise.all(calls)) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return counts;
}

describe('rate limits (e2e)', () => {
  let api: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    // Two api instances on the shared Redis: the limits are the tenant's, not the instance's.
    api = await startApp();
    second = await startApp();
  });
  afterAll(async () => {
    await api.close();
    await second.close();
  });

  /** The free plan's rules as the server compiles them: built-in defaults under the plans table's. */
  async function freeRules() {
    const plan = await api.admin('GET', '/plans/free');
    expect(plan.status).toBe(200);
    return compilePolicy('free', undefined, plan.body.limits).rules;
  }

  const policyField = (rules: WindowRule[]) =>
    rules.map((r) => `"${r.name}";q=${r.limit};w=${r.windowMs / 1000}`).join(', ');

  /** A free-plan tenant; with a collection 'docs' (whose creation counts as one admin request). */
  async function tenant(prefix: string, withCollection = true): Promise<TestTenant> {
    const t = await api.createTenant(prefix, 'free');
    if (withCollection) await t.collection('docs', 2);
    return t;
  }

  it('sends the policy and what is left on every response of a tenant, errors included', async () => {
    const t = await tenant('rlh');
    const ok = await search(t);
    expect(ok.status).toBe(200);
    const free = await freeRules();
    expect(ok.headers.get('ratelimit-policy')).toBe(policyField(free.search));
    expect(ok.headers.get('ratelimit')).toMatch(/^"search-1s";r=\d+;t=1$/);
    const searchPerSecond = free.search.find((r) => r.name === 'search-1s')!.limit;
    expect(ok.headers.get('x-ratelimit-limit')).toBe(String(searchPerSecond));
    expect(Number(ok.headers.get('x-ratelimit-remaining'))).toBeLessThan(searchPerSecond);
    expect(ok.headers.get('x-ratelimit-reset')).toBe('1');
    // A 404 from the controller carries them too, and the class is the route's: read.
    const missing = await t.request('GET', '/collections/nope');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('ratelimit-policy')).toContain('"read-1s"');
    expect(missing.headers.get('ratelimit')).not.toBeNull();
    // Public routes are not limited, and an unauthenticated request never reaches the limiter.
    expect((await api.request('GET', '/health/live')).headers.get('ratelimit')).toBeNull();
    const anonymous = await api.request('GET', '/v1/collections');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('ratelimit')).toBeNull();
  });

  it('refuses with 429, Retry-After and a problem once a class limit is spent; other classes go on', async () => {
    const t = await tenant('rlc');
    await setLimits(t, { search: [{ limit: 3, window: '10s' }] });
    for (let i = 0; i < 3; i++) expect((await search(t)).status).toBe(200);
    const refused = await search(t);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body).toMatchObject({
      status: 429,
      code: 'rate_limited',
      limits: [{ policy: 'search-10s', limit: 3, windowSeconds: 10 }],
    });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(10);
    expect(refused.body.retryAfterSeconds).toBe(retryAfter);
    expect(refused.headers.get('ratelimit')).toBe(`"search-10s";r=0;t=${retryAfter}`);
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    // Reads have their own class limit and the tenant-wide one has room.
    expect((await list(t)).status).toBe(200);
  });

  it('counts every class against the tenant-wide limit, and a refusal consumes nothing', async () => {
    const t = await tenant('rlt');
    // Creating the collection was the tenant's first request of this minute.
    await setLimits(t, {
      tenant: [{ limit: 5, window: '1m' }],
      search: [{ limit: 2, window: '1m' }],
    });
    expect((await search(t)).status).toBe(200);
    expect((await search(t)).status).toBe(200);
    // Refused by the search limit: the tenant-wide count stays at 2.
    expect((await search(t)).status).toBe(429);
    expect((await search(t)).status).toBe(429);
    expect((await list(t)).status).toBe(200);
    expect((await list(t)).status).toBe(200);
    const refused = await list(t);
    expect(refused.status).toBe(429);
    expect(refused.body.limits).toEqual([{ policy: 'tenant-1m', limit: 5, windowSeconds: 60 }]);
  });

  it('admits exactly the limit from concurrent requests spread over two api instances', async () => {
    const t = await tenant('rl2', false);
    await setLimits(t, { read: [{ limit: 25, window: '1m' }] });
    const calls = Array.from({ length: 80 }, (_, i) => list(t, i % 2 === 0 ? api : second));
    const counts = await statuses(calls);
    expect(Object.fromEntries(counts)).toEqual({ 200: 25, 429: 55 });
  });

  it('leaves tenant B untouched while tenant A is at its limit', async () => {
    const a = await tenant('rla', false);
    const b = await tenant('rlb', false);
    await setLimits(a, { tenant: [{ limit: 5, window: '1m' }] });
    await setLimits(b, { tenant: [{ limit: 5, window: '1m' }] });
    const aCounts = await statuses(Array.from({ length: 20 }, () => list(a)));
    expect(aCounts.get(429)).toBe(15);
    const bCounts = await statuses(Array.from({ length: 5 }, () => list(b, second)));
    expect(Object.fromEntries(bCounts)).toEqual({ 200: 5 });
  });

  it('applies a settings change on every instance without a restart, both ways', async () => {
    const t = await tenant('rls');
    expect((await list(t, second)).headers.get('ratelimit-policy')).toContain('"read-1s";q=50');
    await setLimits(t, { read: [{ limit: 2, window: '30s' }] });
    // The other instance hears of the change over Redis pub/sub.
    const deadline = Date.now() + 5000;
    let policy = '';
    while (Date.now() < deadline && !policy.includes('"read-30s";q=2')) {
      policy = (await list(t, second)).headers.get('ratelimit-policy') ?? '';
    }
    expect(policy).toContain('"read-30s";q=2');
    // The call that saw the new policy was admitted under it; at most one more is.
    const next = [(await list(t)).status, (await list(t)).status];
    expect(next[1]).toBe(429);
    // Raised again: admitted at once.
    await setLimits(t, { read: [{ limit: 100, window: '30s' }] });
    expect((await list(t)).status).toBe(200);
  });

  it('shows a key its own restrictions and rate limits at GET /v1/whoami', async () => {
    const t = await tenant('rlw');
    await setLimits(t, { write: [{ limit: 9, window: '1h' }] });
    const scoped = await t.key(['vectors:read'], { collections: ['docs'], filter: { team: 'a' } });
    const r = await api.request('GET', '/v1/whoami', { token: scoped.secret });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      keyId: scoped.id,
      tenantId: t.id,
      scopes: ['vectors:read'],
      collections: ['docs'],
      filter: { team: 'a' },
      signatureRequired: false,
    });
    const tenantWide = (await freeRules()).write.filter((x) => x.bucket === 0);
    expect(r.body.rateLimits.write).toEqual([
      ...tenantWide.map((x) => ({
        policy: x.name,
        limit: x.limit,
        windowSeconds: x.windowMs / 1000,
      })),
      { policy: 'write-1h', limit: 9, windowSeconds: 3600 },
    ]);
    expect(tenantWide.map((x) => x.name)).toContain('tenant-1d');
    expect(Object.keys(r.body.rateLimits).sort()).toEqual(['admin', 'read', 'search', 'write']);
    expect((await api.request('GET', '/v1/whoami')).status).toBe(401);
  });

  it('takes the defaults of the plan, and a plan change applies at once', async () => {
    const t = await tenant('rlp');
    expect((await list(t)).headers.get('ratelimit-policy')).toContain(
      `"tenant-1s";q=${PLAN_RATE_LIMITS.free.tenant[0].limit}`,
    );
    expect((await api.admin('PATCH', `/tenants/${t.id}`, { plan: 'enterprise' })).status).toBe(200);
    expect((await list(t)).headers.get('ratelimit-policy')).toContain(
      `"tenant-1s";q=${PLAN_RATE_LIMITS.enterprise.tenant[0].limit}`,
    );
  });

  it("takes searchesPerSecond and requestsPerDay from the plan (or the tenant's quotas), applied at once", async () => {
    const name = `rl-${Math.random().toString(36).slice(2, 8)}`;
    const created = await api.admin('POST', '/plans', {
      name,
      limits: {
        collections: null,
        vectors: null,
        dimensionsPerCollection: null,
        storedBytes: null,
        apiKeys: null,
        webhookEndpoints: null,
        searchesPerSecond: 3,
        requestsPerDay: 1000,
      },
    });
    expect(created.status).toBe(201);
    const t = await api.createTenant('rlq', name);
    const rules = async () => {
      const me = await api.request('GET', '/v1/whoami', { token: t.adminKey });
      return Object.fromEntries(
        (me.body.rateLimits.search as Array<{ policy: string; limit: number }>).map((x) => [
          x.policy,
          x.limit,
        ]),
      );
    };
    expect(await rules()).toMatchObject({ 'search-1s': 3, 'tenant-1d': 1000 });
    // A plan change reaches cached keys on every instance.
    expect(
      (await api.admin('PATCH', `/plans/${name}`, { limits: { searchesPerSecond: 5 } })).status,
    ).toBe(200);
    expect(await rules()).toMatchObject({ 'search-1s': 5, 'tenant-1d': 1000 });
    // The tenant's quotas override wins over the plan; null falls back to the built-in default.
    await api.putSettings(t.id, {
      quotas: { limits: { searchesPerSecond: 7, requestsPerDay: null } },
    });
    const overridden = await rules();
    expect(overridden['search-1s']).toBe(7);
    expect(overridden['tenant-1d']).toBeUndefined();
    const searches = await statuses(
      Array.from({ length: 12 }, () =>
        api.request('POST', '/v1/collections/none/search', {
          token: t.adminKey,
          body: { vector: [1, 0], topK: 1 },
        }),
      ),
    );
    // 7 reach the handler (404: no such collection), the rest are limited, within one second.
    expect(searches.get(404)! + (searches.get(429) ?? 0)).toBe(12);
    expect(searches.get(404)).toBeLessThanOrEqual(7);
  });

  it('refuses invalid rate limit settings with 400 naming the field, and keeps the stored ones', async () => {
    const t = await tenant('rlv');
    await setLimits(t, { search: [{ limit: 7, window: '1m' }] });
    const bad: unknown[] = [
      { search: [] },
      { search: [{ limit: 0, window: '1s' }] },
      { search: [{ limit: 5, window: '1 second' }] },
      { search: [{ limit: 5, window: '2d' }] },
      {
        search: [
          { limit: 5, window: '60s' },
          { limit: 9, window: '1m' },
        ],
      },
      { everything: [{ limit: 5, window: '1s' }] },
      { search: { limit: 5, window: '1s' } },
    ];
    for (const rateLimits of bad) {
      const r = await api.putSettings(t.id, { rateLimits });
      expect({ rateLimits, status: r.status, code: r.body.code }).toEqual({
        rateLimits,
        status: 400,
        code: 'invalid_settings',
      });
      expect(r.body.errors[0].path).toMatch(/^rateLimits/);
    }
    const stored = await api.admin('GET', `/tenants/${t.id}/settings`);
    expect(stored.body.settings.rateLimits).toEqual({ search: [{ limit: 7, window: '1m' }] });
  });

  it('limits the platform admin API per client address when configured', async () => {
    // Its own key prefix: no other instance's calls from this address count against it.
    const limited = await startApp({
      RATE_LIMIT_PLATFORM_PER_MINUTE: '3',
      QUEUE_PREFIX: `{quiver-rl-platform-${process.pid}-${Date.now()}}`,
    });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) {
        codes.push(
          (await limited.admin('GET', '/tenants/00000000-0000-4000-8000-000000000000')).status,
        );
      }
      expect(codes).toEqual([404, 404, 404, 429, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe('rate limits when Redis is unreachable (e2e)', () => {
  let redis: PrivateRedis;
  let open: TestApp;
  let closed: TestApp;

  const metric = async (name: string, labels: Record<string, string> = {}): Promise<number> => {
    const m = await register.getSingleMetric(name)?.get();
    const v = m?.values.find((x) =>
      Object.entries(labels).every(([k, val]) => x.labels[k] === val),
    );
    return v?.value ?? 0;
  };

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    const env = { REDIS_URL: redis.url, QUEUE_PREFIX: '{quiver-rl-down}' };
    open = await startApp({ ...env, RATE_LIMIT_FALLBACK_SHARE: '0.5' });
    closed = await startApp({ ...env, RATE_LIMIT_REDIS_DOWN: 'closed' });
  });
  afterAll(async () => {
    await open.close().catch(() => undefined);
    await closed.close().catch(() => undefined);
    await redis.stop();
  });

  it('fails open on the data plane under a local per-process cap, and closed for key minting and signed requests', async () => {
    const t = await open.createTenant('rldown');
    await open.putSettings(t.id, { rateLimits: { read: [{ limit: 10, window: '1m' }] } });
    const signer = await t.request('POST', '/keys', {
      name: 's',
      scopes: ['vectors:read'],
      signing: true,
    });
    expect(signer.status).toBe(201);
    expect((await t.request('GET', '/collections')).status).toBe(200);
    const fallbackBefore = await metric('quiver_rate_limit_fallback_total', {
      outcome: 'admitted',
    });

    await redis.stop();

    // A bad key is refused before the limiter: 401, not 503.
    expect((await open.request('GET', '/v1/collections', { token: 'qvr_live_bad' })).status).toBe(
      401,
    );
    // The data plane goes on, capped per process at half the limit (share 0.5): 5 of 10.
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) codes.push((await t.request('GET', '/collections')).status);
    expect(codes).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(await metric('quiver_rate_limit_degraded')).toBe(1);
    expect(await metric('quiver_rate_limit_fallback_total', { outcome: 'admitted' })).toBe(
      fallbackBefore + 5,
    );
    // Minting a key is refused rather than admitted on a guess.
    const mint = await t.request('POST', '/keys', { name: 'x', scopes: ['vectors:read'] });
    expect(mint.status).toBe(503);
    expect(mint.body.code).toBe('service_unavailable');
    expect(mint.headers.get('retry-after')).toBe('1');
    // So is a signed request (its replay check cannot be made).
    const signed = await signedRequest(
      open,
      signer.body.secret,
      signer.body.id,
      signer.body.signingSecret,
      {
        method: 'GET',
        path: '/v1/collections',
      },
    );
    expect(signed.status).toBe(503);

    await redis.restart();
    // Back on Redis (retried at most a second after the failure): shared counting again, with the
    // full limit, on an empty store (the private Redis keeps nothing across a restart).
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (await metric('quiver_rate_limit_degraded')) !== 0) {
      await t.request('GET', '/collections');
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await metric('quiver_rate_limit_degraded')).toBe(0);
    expect((await t.request('POST', '/keys', { name: 'y', scopes: ['vectors:read'] })).status).toBe(
      201,
    );
  });

  it('fails closed on the data plane too when configured', async () => {
    const t = await closed.createTenant('rlclosed');
    expect((await t.request('GET', '/collections')).status).toBe(200);
    await redis.stop();
    try {
      const r = await t.request('GET', '/collections');
      expect(r.status).toBe(503);
      expect(r.body.code).toBe('service_unavailable');
    } finally {
      await redis.restart();
    }
  });
});
