import { startApp, TestApp, TestTenant } from './support/harness';
import { expectProblem } from './support/keys-helpers';

const ROUTE = '/_bench/collections-without-tenant-context';

/**
 * The bench's tenant-context baseline route (src/bench-support): absent unless BENCH_ROUTES=true,
 * behind the same guards as GET /v1/collections when present, and blind to every row.
 */
describe('bench baseline route (e2e)', () => {
  it('is not mounted by default', async () => {
    const api = await startApp();
    try {
      const t = await api.createTenant('benchoff');
      const res = await t.request('GET', ROUTE);
      expect(res.status).toBe(404);
    } finally {
      await api.close();
    }
  });

  describe('with BENCH_ROUTES=true', () => {
    let api: TestApp;
    let t: TestTenant;

    beforeAll(async () => {
      api = await startApp({ BENCH_ROUTES: 'true' });
      t = await api.createTenant('benchon');
      await t.collection('docs', 3);
    });
    afterAll(() => api.close());

    it('answers the same shape as GET /v1/collections, with no rows: row-level security hides them', async () => {
      const real = await t.request('GET', '/collections');
      expect(real.status).toBe(200);
      expect(real.body.items.map((c: { name: string }) => c.name)).toEqual(['docs']);
      const baseline = await t.request('GET', ROUTE);
      expect(baseline.status).toBe(200);
      expect(baseline.body).toEqual({ items: [] });
    });

    it('sits behind the same guards: no key, a wrong key and a key without a read scope are refused', async () => {
      expectProblem(await api.request('GET', `/v1${ROUTE}`), 401, 'unauthenticated');
      expectProblem(
        await api.request('GET', `/v1${ROUTE}`, { token: 'qv_test_nope' }),
        401,
        'invalid_api_key',
      );
      const usage = await t.key(['usage:read']);
      expectProblem(
        await t.request('GET', ROUTE, undefined, usage.secret),
        403,
        'insufficient_scope',
      );
    });

    it('is not in the OpenAPI document', async () => {
      const doc = await api.request('GET', '/openapi.json');
      expect(Object.keys(doc.body.paths).filter((p) => p.includes('_bench'))).toEqual([]);
    });
  });
});
