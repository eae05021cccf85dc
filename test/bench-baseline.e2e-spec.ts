import { Client } from 'pg';
import { grantBenchBaseline } from '../scripts/local-database';
import { startApp, TestApp, TestTenant } from './support/harness';
import { expectProblem } from './support/keys-helpers';
import { appUrl, PG_ADMIN_URL } from './support/test-env';

const ROUTE = '/_bench/collections-without-tenant-context';

/**
 * The bench's tenant-context baseline route (src/bench-support): absent unless BENCH_ROUTES=true,
 * behind the same guards as GET /v1/collections when present, answering what that route answers
 * through its own BYPASSRLS login that can read collections and nothing else.
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

  it('refuses to start with BENCH_ROUTES=true but no baseline login', async () => {
    await expect(startApp({ BENCH_ROUTES: 'true' })).rejects.toThrow(
      /BENCH_ROUTES=true needs BENCH_BASELINE_DATABASE_URL/,
    );
  });

  describe('with BENCH_ROUTES=true', () => {
    let api: TestApp;
    let t: TestTenant;
    let other: TestTenant;
    let baselineUrl: string;

    beforeAll(async () => {
      baselineUrl = await grantBenchBaseline(PG_ADMIN_URL, new URL(appUrl()).pathname.slice(1));
      api = await startApp({ BENCH_ROUTES: 'true', BENCH_BASELINE_DATABASE_URL: baselineUrl });
      t = await api.createTenant('benchon');
      await t.collection('docs', 3);
      await t.collection('alpha', 2);
      other = await api.createTenant('benchother');
      await other.collection('theirs', 4);
    });
    afterAll(() => api.close());

    it("answers exactly what GET /v1/collections answers: the caller's rows, no one else's", async () => {
      for (const tenant of [t, other]) {
        const real = await tenant.request('GET', '/collections');
        expect(real.status).toBe(200);
        const baseline = await tenant.request('GET', ROUTE);
        expect(baseline.status).toBe(200);
        expect(baseline.body).toEqual(real.body);
      }
      const names = (await t.request('GET', ROUTE)).body.items.map((c: { name: string }) => c.name);
      expect(names).toEqual(['alpha', 'docs']);
    });

    it('reads through a login that bypasses row-level security on collections and can read nothing else', async () => {
      const c = new Client({ connectionString: baselineUrl });
      await c.connect();
      try {
        // No tenant context at all, and still every tenant's collections: RLS does not apply to it.
        const { rows } = await c.query<{ n: number }>(
          'SELECT count(DISTINCT tenant_id)::int AS n FROM collections',
        );
        expect(rows[0].n).toBeGreaterThanOrEqual(2);
        for (const table of ['api_keys', 'tenants', 'vectors', 'platform_tokens']) {
          await expect(c.query(`SELECT 1 FROM ${table} LIMIT 1`)).rejects.toThrow(
            /permission denied/,
          );
        }
        await expect(c.query(`UPDATE collections SET name = name WHERE false`)).rejects.toThrow(
          /permission denied/,
        );
      } finally {
        await c.end();
      }
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
