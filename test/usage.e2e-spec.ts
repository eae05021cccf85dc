import type { Client } from 'pg';
import { ownerClient, startApp, TestApp, TestTenant } from './support/harness';
import { asTenantOwner, expectProblem } from './support/keys-helpers';

jest.setTimeout(60_000);

const thisHour = () => {
  const now = Date.now();
  return new Date(now - (now % 3_600_000)).toISOString();
};

/** Waits out the last 20 s of an hour, so a test's requests all fall into one hour (and day). */
async function awayFromHourBoundary(): Promise<void> {
  const left = 3_600_000 - (Date.now() % 3_600_000);
  if (left < 20_000) await new Promise((r) => setTimeout(r, left + 500));
}

/** A small, known workload: 3 upserted, 2 searches, 1 bad search (400), 1 deleted. */
async function workload(t: TestTenant, searches = 2): Promise<void> {
  await t.collection('c', 2, 'l2');
  await t.upsert('c', [
    { id: 'a', values: [1, 2] },
    { id: 'b', values: [2, 3] },
    { id: 'c', values: [3, 4], metadata: { k: 'v' } },
  ]);
  for (let i = 0; i < searches; i++) {
    expect(
      (await t.request('POST', '/collections/c/search', { vector: [1, 2], topK: 2 })).status,
    ).toBe(200);
  }
  expect((await t.request('POST', '/collections/c/search', { vector: [1, 2, 3] })).status).toBe(
    400,
  );
  expect((await t.request('POST', '/collections/c/vectors/delete', { ids: ['a'] })).status).toBe(
    200,
  );
}

describe('usage tracking and analytics', () => {
  let api: TestApp;
  let owner: Client;

  beforeAll(async () => {
    api = await startApp();
    owner = await ownerClient();
  });
  afterAll(async () => {
    await owner?.end();
    await api?.close();
  });

  it('rolls up requests by endpoint and status class, searches, vectors, bytes and latency per hour and day', async () => {
    await awayFromHourBoundary();
    const t = await api.createTenant('usage');
    await workload(t);
    const r = await t.request('GET', '/usage?granularity=hour');
    expect(r.status).toBe(200);
    expect(r.body.points).toHaveLength(1);
    const p = r.body.points[0];
    expect(p).toEqual(
      expect.objectContaining({
        start: thisHour(),
        requests: 6,
        requestsByEndpoint: { collections: 1, upsert: 1, search: 3, delete: 1 },
        requestsByStatus: { '2xx': 5, '4xx': 1 },
        searches: 2,
        vectorsWritten: 3,
        vectorsDeleted: 1,
      }),
    );
    // Two vectors of 2 dimensions with metadata {} and {"k": "v"}: 8 + 2 + 8 + 10.
    expect(p.storedBytes).toBe(28);
    expect(p.p50Ms).toEqual(expect.any(Number));
    expect(p.p95Ms).toBeGreaterThanOrEqual(p.p50Ms);
    const day = await t.request('GET', '/usage?granularity=day');
    expect(day.body.points).toHaveLength(1);
    expect(day.body.points[0]).toEqual(
      expect.objectContaining({ start: `${thisHour().slice(0, 10)}T00:00:00.000Z`, searches: 2 }),
    );
    // The GET above is itself a request of this tenant ("admin"), counted from the next flush.
    const again = await t.request('GET', '/usage');
    expect(again.body.points[0].requestsByEndpoint.admin).toBe(2);
  });

  it('shows each tenant only its own usage; the platform sees any tenant, a leaderboard and a CSV', async () => {
    await awayFromHourBoundary();
    const a = await api.createTenant('usage-a');
    const b = await api.createTenant('usage-b');
    await workload(a, 5);
    await workload(b, 1);
    const mine = await b.request('GET', '/usage');
    expect(mine.body.points[0].searches).toBe(1);
    const theirs = await api.admin('GET', `/tenants/${a.id}/usage`);
    expect(theirs.status).toBe(200);
    expect(theirs.body.points[0].searches).toBe(5);
    expect(theirs.body.tenantId).toBe(a.id);

    const board = await api.admin('GET', '/usage/leaderboard?metric=searches&limit=100');
    expect(board.status).toBe(200);
    const rank = (id: string) =>
      board.body.items.findIndex((e: { tenantId: string }) => e.tenantId === id);
    expect(rank(a.id)).toBeGreaterThanOrEqual(0);
    expect(rank(a.id)).toBeLessThan(rank(b.id));
    expect(board.body.items[rank(a.id)]).toEqual({ tenantId: a.id, slug: a.slug, value: 5 });

    const csv = await api.admin('GET', '/usage/export?granularity=day');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (csv.body as string).trim().split('\r\n');
    expect(lines[0]).toBe(
      'tenant_id,tenant_slug,granularity,period_start,endpoint_class,status_class,requests,searches,vectors_written,vectors_deleted,p50_ms,p95_ms',
    );
    const search = lines.find(
      (l) => l.startsWith(`${a.id},${a.slug},day,`) && l.includes(',search,2xx,'),
    );
    expect(search?.split(',').slice(6, 10)).toEqual(['5', '5', '0', '0']);
  });

  it('refuses bad windows and other tenants credentials', async () => {
    const t = await api.createTenant('usage-bad');
    for (const q of [
      'granularity=minute',
      'from=yesterday',
      `from=${new Date().toISOString()}&to=2020-01-01T00:00:00Z`,
      'granularity=hour&from=2020-01-01T00:00:00Z&to=2021-01-01T00:00:00Z',
      'unknown=1',
    ]) {
      expectProblem(await t.request('GET', `/usage?${q}`), 400, 'validation_failed');
    }
    expectProblem(
      await api.admin('GET', '/usage/leaderboard?metric=bytes'),
      400,
      'validation_failed',
    );
    expectProblem(await api.admin('GET', '/usage/leaderboard?limit=0'), 400, 'validation_failed');
    const reader = await t.key(['vectors:read']);
    expectProblem(
      await t.request('GET', '/usage', undefined, reader.secret),
      403,
      'insufficient_scope',
    );
    expect((await t.request('GET', '/admin/usage/leaderboard')).status).toBe(401);
    expectProblem(
      await api.admin('GET', '/tenants/00000000-0000-4000-8000-000000000000/usage'),
      404,
      'tenant_not_found',
    );
    // Rows of another tenant are invisible to a tenant transaction (forced RLS); the owner client
    // has app.platform on, which the platform_read policy honours, so switch it off here.
    await owner.query('BEGIN');
    try {
      await owner.query(
        `SELECT set_config('app.platform', '', true), set_config('app.tenant_id', $1, true)`,
        [t.id],
      );
      const { rows } = await owner.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM usage_rollups WHERE tenant_id <> $1`,
        [t.id],
      );
      expect(rows[0].n).toBe(0);
    } finally {
      await owner.query('ROLLBACK');
    }
  });
});

describe('usage tracking across a graceful shutdown', () => {
  it('writes what was aggregated in memory when the app closes', async () => {
    const api = await startApp({ USAGE_FLUSH_INTERVAL_MS: '3600000' });
    const owner = await ownerClient();
    try {
      const t = await api.createTenant('usage-shutdown');
      await workload(t, 3);
      const before = await asTenantOwner(
        owner,
        t.id,
        `SELECT * FROM usage_rollups WHERE tenant_id = $1`,
        [t.id],
      );
      expect(before).toEqual([]);
      await api.close();
      const [after] = await asTenantOwner<{ requests: number; searches: number; written: number }>(
        owner,
        t.id,
        `SELECT sum(requests)::int AS requests, sum(searches)::int AS searches,
                sum(vectors_written)::int AS written
           FROM usage_rollups WHERE tenant_id = $1 AND granularity = 'hour'`,
        [t.id],
      );
      expect(after).toEqual({ requests: 7, searches: 3, written: 3 });
    } finally {
      await owner.end();
    }
  });
});
