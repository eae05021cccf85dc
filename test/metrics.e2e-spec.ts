import { startApp, TestApp } from './support/harness';
import { expectProblem } from './support/keys-helpers';

jest.setTimeout(60_000);

/** The value of one sample line of the exposition, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith(`${name}{`) &&
        Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
    );
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('GET /metrics', () => {
  let api: TestApp;

  beforeAll(async () => {
    api = await startApp();
  });
  afterAll(async () => {
    await api?.close();
  });

  const scrape = async () => {
    const r = await api.request('GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    return r.body as string;
  };

  it('counts requests and their latency by route pattern and status, never by collection or key', async () => {
    const t = await api.createTenant('metrics');
    const secretName = `products-${Math.random().toString(36).slice(2, 8)}`;
    await t.collection(secretName, 2, 'l2');
    await t.upsert(secretName, [{ id: 'v1', values: [1, 2] }]);
    await t.request('POST', `/collections/${secretName}/vectors`, { vectors: [] }); // 400
    await api.request('GET', '/v1/no-such-route');
    const text = await scrape();
    const route = '/v1/collections/:collection/vectors';
    expect(
      sample(text, 'quiver_http_requests_total', { route, method: 'POST', status: '200' }),
    ).toBe(1);
    expect(
      sample(text, 'quiver_http_requests_total', { route, method: 'POST', status: '400' }),
    ).toBe(1);
    expect(
      sample(text, 'quiver_http_request_duration_seconds_count', {
        route,
        method: 'POST',
        status_class: '2xx',
      }),
    ).toBe(1);
    expect(
      sample(text, 'quiver_http_requests_total', { route: 'unmatched', status: '404' }),
    ).toBeGreaterThanOrEqual(1);
    // Bounded labels: no collection name, key id or tenant id anywhere, and no tenant label.
    expect(text).not.toContain(secretName);
    expect(text).not.toContain(t.adminKeyId);
    expect(text).not.toContain(t.id);
    expect(text).not.toMatch(/tenant="/);
  });

  it('counts quota rejections by resource and shows queue depths', async () => {
    const t = await api.createTenant('metrics-q');
    await api.admin(
      'PUT',
      `/tenants/${t.id}/settings`,
      { settings: { quotas: { limits: { collections: 0 } } } },
      { 'if-match': '*' },
    );
    const before =
      sample(await scrape(), 'quiver_quota_rejections_total', { resource: 'collections' }) ?? 0;
    const r = await t.request('POST', '/collections', { name: 'c', dimension: 2 });
    expectProblem(r, 403, 'quota_exceeded');
    const text = await scrape();
    expect(sample(text, 'quiver_quota_rejections_total', { resource: 'collections' })).toBe(
      before + 1,
    );
    // The suites run with Redis, so jobs go through BullMQ and its depth is measured.
    expect(sample(text, 'quiver_queue_jobs', { state: 'waiting' })).toEqual(expect.any(Number));
    expect(sample(text, 'quiver_queue_jobs', { state: 'failed' })).toEqual(expect.any(Number));
    // Metrics other modules keep in prom-client's default registry are served too.
    expect(text).toContain('# TYPE quiver_rate_limit_degraded gauge');
  });
});

describe('GET /metrics, configured', () => {
  let api: TestApp;

  beforeAll(async () => {
    api = await startApp({
      METRICS_TENANT_LABELS: '1',
      METRICS_TOKEN: 'a-metrics-token-for-tests',
    });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('asks for the token when METRICS_TOKEN is set', async () => {
    expectProblem(await api.request('GET', '/metrics'), 401, 'unauthenticated');
    expectProblem(
      await api.request('GET', '/metrics', { token: 'a-metrics-token-for-testX' }),
      401,
      'unauthenticated',
    );
    expect(
      (await api.request('GET', '/metrics', { token: 'a-metrics-token-for-tests' })).status,
    ).toBe(200);
  });

  it('labels at most METRICS_TENANT_LABELS tenants; the others count as "other"', async () => {
    const first = await api.createTenant('m1');
    const second = await api.createTenant('m2');
    await first.request('GET', '/collections');
    await second.request('GET', '/collections');
    await second.request('GET', '/collections');
    const r = await api.request('GET', '/metrics', { token: 'a-metrics-token-for-tests' });
    const text = r.body as string;
    const route = '/v1/collections';
    expect(sample(text, 'quiver_http_requests_total', { route, tenant: first.id })).toBe(1);
    expect(sample(text, 'quiver_http_requests_total', { route, tenant: 'other' })).toBe(2);
    expect(text).not.toContain(second.id);
  });
});
