import type { Client } from 'pg';
import { UsageReconciler, RECONCILE_JOB } from '@app/quotas/usage-reconciler';
import { eventually, ownerClient, startApp, TestApp } from './support/harness';
import { asTenantOwner } from './support/keys-helpers';

jest.setTimeout(90_000);

const vec = (id: string, metadata: object = {}) => ({ id, values: [1, 2], metadata });

describe('quotas: reconciliation', () => {
  let api: TestApp;
  let owner: Client;

  beforeAll(async () => {
    api = await startApp({}, { worker: true });
    owner = await ownerClient();
  });
  afterAll(async () => {
    await owner?.end();
    await api?.close();
  });

  const counters = async (tenantId: string) =>
    Object.fromEntries(
      (
        await asTenantOwner<{ resource: string; used: string }>(
          owner,
          tenantId,
          `SELECT resource, used::text FROM quota_usage ORDER BY resource`,
        )
      ).map((r) => [r.resource, Number(r.used)]),
    );

  it('after a concurrent mixed workload the counters equal a recount of the source tables', async () => {
    const t = await api.createTenant('rec');
    // Tight enough that some writes are refused along the way.
    const put = await api.admin(
      'PUT',
      `/tenants/${t.id}/settings`,
      { settings: { quotas: { limits: { vectors: 150, apiKeys: 6, collections: 4 } } } },
      { 'if-match': '*' },
    );
    expect(put.status).toBe(200);
    await t.collection('a', 2, 'l2');
    await t.collection('b', 2, 'l2');
    const keys = await Promise.all([t.key(['vectors:read']), t.key(['vectors:read'])]);

    const ops: Array<() => Promise<unknown>> = [];
    for (let i = 0; i < 30; i++) {
      // Overlapping ids across concurrent requests: inserts racing inserts and overwrites.
      const ids = Array.from({ length: 6 }, (_, j) => `v${(i * 3 + j) % 40}`);
      const meta = { round: i, pad: 'x'.repeat(i % 7) };
      ops.push(() =>
        t.request('POST', `/collections/${i % 2 ? 'a' : 'b'}/vectors`, {
          vectors: ids.map((id) => vec(id, meta)),
        }),
      );
      if (i % 5 === 0) {
        ops.push(() =>
          t.request('POST', '/collections/a/vectors/delete', { ids: [`v${i}`, `v${i + 1}`] }),
        );
      }
      if (i % 9 === 0) {
        ops.push(() =>
          t.request('POST', '/collections/b/vectors/delete', { filter: { round: { $lt: i } } }),
        );
      }
    }
    ops.push(
      async () => {
        await t.request('POST', '/collections', { name: 'c', dimension: 2, metric: 'l2' });
        await t.request('POST', '/collections/c/vectors', { vectors: [vec('z1'), vec('z2')] });
        await t.request('DELETE', '/collections/c');
      },
      () => t.request('POST', '/collections', { name: 'd', dimension: 2, metric: 'l2' }),
      () => t.request('DELETE', `/keys/${keys[0].id}`),
      () => t.request('POST', '/keys', { name: 'x', scopes: ['vectors:read'] }),
      () => t.request('POST', '/keys', { name: 'y', scopes: ['vectors:read'] }),
    );
    const results = (await Promise.all(ops.map((op) => op()))) as Array<{ status: number }>;
    // Quota refusals, and 503s where Postgres broke a deadlock between row locks of the data itself
    // (a filtered delete scans in physical order): both roll back whole. Never a 500.
    for (const r of results.filter(Boolean)) expect([200, 201, 204, 403, 503]).toContain(r.status);

    const before = await counters(t.id);
    const drift = await api.app.get(UsageReconciler).reconcile(t.id);
    expect(drift).toEqual([]);
    expect(await counters(t.id)).toEqual(before);
    const [actual] = await asTenantOwner(
      owner,
      t.id,
      `SELECT (SELECT count(*) FROM api_keys WHERE revoked_at IS NULL)::int AS "apiKeys",
              (SELECT count(*) FROM collections)::int AS collections,
              (SELECT COALESCE(sum(quiver_vector_bytes(embedding, metadata)), 0) FROM vectors)::int AS "storedBytes",
              (SELECT count(*) FROM vectors)::int AS vectors`,
    );
    expect(before).toEqual(actual);
    expect(actual.vectors).toBeGreaterThan(0);
    expect(actual.vectors).toBeLessThanOrEqual(150);
  });

  it('corrects a counter that drifted, through the queued job, and reports what it found', async () => {
    const t = await api.createTenant('rec-fix');
    await t.collection('a', 2, 'l2');
    await t.upsert('a', [vec('1'), vec('2'), vec('3')]);
    const right = await counters(t.id);
    await asTenantOwner(
      owner,
      t.id,
      `UPDATE quota_usage SET used = used + 1000 WHERE resource IN ('vectors', 'collections')`,
    );
    const drift = await api.app.get(UsageReconciler).reconcile(t.id);
    expect(drift).toEqual(
      expect.arrayContaining([
        { resource: 'vectors', counter: 1003, actual: 3 },
        { resource: 'collections', counter: 1001, actual: 1 },
      ]),
    );
    expect(await counters(t.id)).toEqual(right);

    // The same through BullMQ and the worker.
    await asTenantOwner(owner, t.id, `DELETE FROM quota_usage WHERE resource = 'storedBytes'`);
    await asTenantOwner(owner, t.id, `UPDATE quota_usage SET used = 0 WHERE resource = 'apiKeys'`);
    await api.jobs.enqueue(RECONCILE_JOB, { tenantId: t.id });
    await eventually(
      () => counters(t.id),
      (c) => c.storedBytes === right.storedBytes && c.apiKeys === 1,
    );
  });
});
