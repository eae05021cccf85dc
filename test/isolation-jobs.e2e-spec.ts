import type { Client } from 'pg';
import { MissingTenantContextError, TenantContext } from '@app/common/context/tenant-context';
import { Db } from '@app/database/db';
import { PURGE_JOB } from '@app/tenancy/tenants.service';
import { eventually, ownerClient, startApp, TestApp } from './support/harness';
import {
  partitionName,
  Seeded,
  seedTenant,
  snapshotViaApi,
  tenantRowCounts,
  tenantTablesFromCatalogue,
} from './support/isolation-fixtures';

/**
 * Background jobs run with an explicit tenant context taken from their payload, and a job of one
 * tenant cannot reach another's rows: the purge of a deleted tenant removes all of it and nothing else.
 */

async function tenantStatus(owner: Client, id: string): Promise<string | null> {
  // tenants is a platform table without row-level security: the owner reads it directly.
  const r = await owner.query<{ status: string }>('SELECT status FROM tenants WHERE id = $1', [id]);
  return r.rows[0]?.status ?? null;
}

async function partitionsOf(owner: Client, s: Seeded): Promise<string[]> {
  const wanted = [partitionName(s.shared.id), partitionName(s.own.id)];
  const tables = await tenantTablesFromCatalogue(owner);
  return tables.map((t) => t.name).filter((n) => wanted.includes(n));
}

describe('tenant purge through the BullMQ worker', () => {
  let api: TestApp;
  let owner: Client;
  let a: Seeded;
  let b: Seeded;
  let c: Seeded;

  beforeAll(async () => {
    api = await startApp({}, { worker: true });
    owner = await ownerClient();
    a = await seedTenant(api, 'a', 3);
    b = await seedTenant(api, 'b', 5);
    c = await seedTenant(api, 'c', 2);
  });
  afterAll(async () => {
    await owner?.end();
    await api?.close();
  });

  it("purges every row and partition of the deleted tenant and none of any other tenant's", async () => {
    expect(api.jobs.backend).toBe('bullmq');
    // C is pending deletion too, but not due: the purge of A must not take it along.
    expect((await api.admin('DELETE', `/tenants/${c.t.id}`)).status).toBe(202);
    const before = {
      a: await tenantRowCounts(owner, a.t.id),
      b: await tenantRowCounts(owner, b.t.id),
      c: await tenantRowCounts(owner, c.t.id),
      bView: await snapshotViaApi(b),
    };
    // Something of A's in every tenant table, so "nothing left" below is not vacuous.
    expect(Object.keys(before.a)).toEqual(
      expect.arrayContaining([
        'api_keys',
        'collections',
        'outbox',
        'vectors',
        partitionName(a.own.id),
      ]),
    );
    expect(await partitionsOf(owner, a)).toHaveLength(2);

    const del = await api.admin('DELETE', `/tenants/${a.t.id}?purge=now`);
    expect(del.status).toBe(202);
    await eventually(
      () => api.admin('GET', `/tenants/${a.t.id}`),
      (r) => r.status === 404,
    );

    expect(await tenantRowCounts(owner, a.t.id)).toEqual({});
    expect(await partitionsOf(owner, a)).toEqual([]);
    expect(await tenantStatus(owner, a.t.id)).toBeNull();

    expect(await tenantRowCounts(owner, b.t.id)).toEqual(before.b);
    expect(await tenantRowCounts(owner, c.t.id)).toEqual(before.c);
    expect(await partitionsOf(owner, b)).toHaveLength(2);
    expect(await partitionsOf(owner, c)).toHaveLength(2);
    expect(await tenantStatus(owner, b.t.id)).toBe('active');
    expect(await tenantStatus(owner, c.t.id)).toBe('pending_deletion');
    expect(await snapshotViaApi(b)).toEqual(before.bView);

    const gone = await a.t.request('GET', '/collections');
    expect([401, 404]).toContain(gone.status);
  });
});

describe('jobs run inside an explicit tenant context', () => {
  let api: TestApp;
  let owner: Client;
  let db: Db;
  let context: TenantContext;
  let a: Seeded;
  let b: Seeded;

  beforeAll(async () => {
    // A grace period of zero makes a deleted tenant due at once without queueing its purge, so the
    // tests below run the purge handler themselves, in this process.
    api = await startApp({ TENANT_PURGE_GRACE_HOURS: '0' });
    owner = await ownerClient();
    db = api.app.get(Db);
    context = api.app.get(TenantContext);
    a = await seedTenant(api, 'a', 3);
    b = await seedTenant(api, 'b', 5);
  });
  afterAll(async () => {
    await owner?.end();
    await api?.close();
  });

  it('outside a request or a job, reading the current tenant throws', () => {
    expect(() => context.tenantId).toThrow(MissingTenantContextError);
  });

  it('a tenant-scoped job without a tenantId in its payload is refused before its handler runs', async () => {
    let calls = 0;
    api.jobs.register(
      'isolation.no-tenant',
      () => {
        calls++;
        return Promise.resolve();
      },
      { tenantScoped: true },
    );
    await expect(api.jobs.execute('isolation.no-tenant', {})).rejects.toThrow(/no tenantId/);
    await expect(api.jobs.execute('isolation.no-tenant', { tenantId: 42 })).rejects.toThrow(
      /no tenantId/,
    );
    await expect(api.jobs.execute(PURGE_JOB, {})).rejects.toThrow(/no tenantId/);
    expect(calls).toBe(0);
  });

  it("concurrent jobs of two tenants each run in their own payload's tenant and see only its rows", async () => {
    const seen: Array<{ payload: string; context: string; principal: unknown; rows: string[] }> =
      [];
    api.jobs.register(
      'isolation.probe',
      async (payload) => {
        // Yield between reading the context and the database, so the jobs really interleave.
        await new Promise((r) => setTimeout(r, Math.random() * 10));
        const rows = await db.tenant(context.tenantId, (tx) =>
          tx.query<{ tenant_id: string }>(
            'SELECT tenant_id::text FROM collections UNION ALL SELECT tenant_id::text FROM vectors',
          ),
        );
        seen.push({
          payload: payload.tenantId as string,
          context: context.tenantId,
          principal: context.principal,
          rows: [...new Set(rows.map((r) => r.tenant_id))],
        });
      },
      { tenantScoped: true },
    );
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        api.jobs.execute('isolation.probe', { tenantId: (i % 2 ? b : a).t.id }),
      ),
    );
    expect(seen).toHaveLength(40);
    for (const s of seen) {
      expect(s).toEqual({
        payload: s.payload,
        context: s.payload,
        principal: { kind: 'job', tenantId: s.payload, job: 'isolation.probe' },
        rows: [s.payload],
      });
    }
    expect(new Set(seen.map((s) => s.payload))).toEqual(new Set([a.t.id, b.t.id]));
  });

  it("a job in A's context deleting vectors with no WHERE removes only A's", async () => {
    const x = await seedTenant(api, 'x', 4);
    const bBefore = await tenantRowCounts(owner, b.t.id);
    const deleted = await context.runAsTenantJob(x.t.id, 'isolation.wipe', () =>
      db.tenant(context.tenantId, (tx) => tx.execute('DELETE FROM vectors')),
    );
    expect(deleted).toBe(x.shared.vectorIds.length + x.own.vectorIds.length);
    expect((await tenantRowCounts(owner, x.t.id)).vectors).toBeUndefined();
    expect(await tenantRowCounts(owner, b.t.id)).toEqual(bBefore);
  });

  it('the purge job of one due tenant leaves another due tenant and an active one untouched', async () => {
    const x = await seedTenant(api, 'x', 2);
    const y = await seedTenant(api, 'y', 2);
    for (const s of [x, y])
      expect((await api.admin('DELETE', `/tenants/${s.t.id}`)).status).toBe(202);
    const before = {
      y: await tenantRowCounts(owner, y.t.id),
      b: await tenantRowCounts(owner, b.t.id),
    };
    expect(before.y.vectors).toBe(4);

    await api.jobs.execute(PURGE_JOB, { tenantId: x.t.id });

    expect(await tenantRowCounts(owner, x.t.id)).toEqual({});
    expect(await partitionsOf(owner, x)).toEqual([]);
    expect(await tenantStatus(owner, x.t.id)).toBeNull();
    expect(await tenantRowCounts(owner, y.t.id)).toEqual(before.y);
    expect(await partitionsOf(owner, y)).toHaveLength(2);
    expect(await tenantStatus(owner, y.t.id)).toBe('pending_deletion');
    expect(await tenantRowCounts(owner, b.t.id)).toEqual(before.b);
  });

  it('the purge job of an active tenant deletes nothing', async () => {
    const before = await tenantRowCounts(owner, a.t.id);
    await api.jobs.execute(PURGE_JOB, { tenantId: a.t.id });
    expect(await tenantRowCounts(owner, a.t.id)).toEqual(before);
    expect(await tenantStatus(owner, a.t.id)).toBe('active');
  });

  it('a purge job whose tenantId is not a UUID fails without touching anyone', async () => {
    const before = await tenantRowCounts(owner, b.t.id);
    await expect(
      api.jobs.execute(PURGE_JOB, { tenantId: `${b.t.id}' OR true --` }),
    ).rejects.toMatchObject({ code: 'tenant_not_found' });
    expect(await tenantRowCounts(owner, b.t.id)).toEqual(before);
  });
});
