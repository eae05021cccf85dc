import { Pool } from 'pg';
import { DATABASE_CONNECTION, DatabaseConnection } from '@app/database/database.module';
import { Db, PREPARED_PREFIX, statement } from '@app/database/db';
import { eventually, HttpResponse, startApp, TestApp } from './support/harness';
import { Seeded, seedTenant, SHARED_NAME } from './support/isolation-fixtures';

/**
 * Pooled connections pass from tenant to tenant. The tenant (and the role, and a looked-up key hash)
 * is set transaction-locally, so whatever a connection did for one tenant must be gone before the
 * next user gets it: on success, on a handled error, and on an SQL error.
 */

function poolOf(api: TestApp): Pool {
  return api.app.get<DatabaseConnection>(DATABASE_CONNECTION).pool;
}

type Check = (r: HttpResponse) => void;

/** One request of tenant `me` and what its response may contain: only `me`'s things. */
function requestFor(me: Seeded, other: Seeded, i: number): [() => Promise<HttpResponse>, Check] {
  const t = me.t;
  const mine = new Set([...me.shared.vectorIds, ...me.own.vectorIds]);
  const onlyMine = (ids: string[]) => {
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) expect(mine.has(id)).toBe(true);
  };
  const shared = `/collections/${SHARED_NAME}`;
  switch (i % 8) {
    case 0:
    case 1:
      return [
        () =>
          t.request('POST', `${shared}/search`, {
            vector: [1, 0.2, 0.1],
            topK: 50,
            mode: i % 8 === 0 ? 'exact' : 'approximate',
          }),
        (r) => {
          expect(r.status).toBe(200);
          onlyMine(r.body.matches.map((m: { id: string }) => m.id));
          expect(r.body.matches).toHaveLength(me.shared.vectorIds.length);
          for (const m of r.body.matches) expect(m.metadata.tenant).toBe(t.id);
        },
      ];
    case 2:
      return [
        () => t.request('GET', '/collections'),
        (r) => {
          expect(r.status).toBe(200);
          expect(r.body.items.map((c: { id: string }) => c.id).sort()).toEqual(
            [me.shared.id, me.own.id].sort(),
          );
        },
      ];
    case 3:
      return [
        () => t.request('GET', shared),
        (r) => {
          expect(r.status).toBe(200);
          expect(r.body).toMatchObject({
            id: me.shared.id,
            vectorCount: me.shared.vectorIds.length,
          });
        },
      ];
    case 4:
      return [
        () =>
          t.request('POST', `${shared}/vectors/fetch`, {
            ids: [...me.shared.vectorIds, ...other.shared.vectorIds],
          }),
        (r) => {
          expect(r.status).toBe(200);
          onlyMine(r.body.vectors.map((v: { id: string }) => v.id));
          expect(r.body.missing).toEqual(other.shared.vectorIds);
        },
      ];
    case 5:
      return [
        () => t.request('POST', `${shared}/vectors/count`, {}),
        (r) => {
          expect(r.status).toBe(200);
          expect(r.body).toEqual({ count: me.shared.vectorIds.length });
        },
      ];
    case 6:
      return [
        () => t.request('GET', '/keys'),
        (r) => {
          expect(r.status).toBe(200);
          expect(r.body.items.map((k: { id: string }) => k.id).sort()).toEqual(
            [t.adminKeyId, me.readKey.id].sort(),
          );
        },
      ];
    default:
      // Fails inside its transaction (rolled back), between the others on the same connections.
      return [
        () => t.request('GET', `/collections/${encodeURIComponent(other.own.name)}`),
        (r) => {
          expect(r.status).toBe(404);
          expect(r.body.code).toBe('collection_not_found');
        },
      ];
  }
}

async function interleaved(a: Seeded, b: Seeded, n: number): Promise<void> {
  const plan = Array.from({ length: n }, (_, i) =>
    i % 2 === 0 ? requestFor(a, b, i >> 1) : requestFor(b, a, i >> 1),
  );
  const responses = await Promise.all(plan.map(([send]) => send()));
  responses.forEach((r, i) => plan[i][1](r));
}

describe('pooled connections shared by tenants (DATABASE_POOL_SIZE=3)', () => {
  let api: TestApp;
  let a: Seeded;
  let b: Seeded;

  beforeAll(async () => {
    api = await startApp({ DATABASE_POOL_SIZE: '3' });
    a = await seedTenant(api, 'a', 3);
    b = await seedTenant(api, 'b', 5);
  });
  afterAll(() => api?.close());

  it('200 concurrent interleaved requests of two tenants each return only their own data', async () => {
    await interleaved(a, b, 200);
    expect(poolOf(api).totalCount).toBeLessThanOrEqual(3);
  });

  it('keeps idle connections for DATABASE_IDLE_TIMEOUT_MS (default 5 minutes), not pg’s 10 s', async () => {
    const options = (poolOf(api) as unknown as { options: { idleTimeoutMillis?: number } }).options;
    expect(options.idleTimeoutMillis).toBe(300_000);
    const short = await startApp({ DATABASE_POOL_SIZE: '1', DATABASE_IDLE_TIMEOUT_MS: '1000' });
    try {
      const t = await short.createTenant('idle');
      expect((await t.request('GET', '/collections')).status).toBe(200);
      const pool = poolOf(short);
      expect(pool.totalCount).toBe(1);
      // The idle connection is closed once the timeout has passed.
      await eventually(
        () => Promise.resolve(pool.totalCount),
        (n) => n === 0,
        10_000,
      );
    } finally {
      await short.close();
    }
  });

  it('200 concurrent Db transactions without a tenant filter each see only their tenant', async () => {
    const db = api.app.get(Db);
    const sql = `SELECT tenant_id::text FROM collections UNION ALL SELECT tenant_id::text FROM vectors
                 UNION ALL SELECT tenant_id::text FROM api_keys UNION ALL SELECT tenant_id::text FROM outbox`;
    const runs = Array.from({ length: 200 }, async (_, i) => {
      const kind = i % 4;
      if (kind === 3) {
        const rows = await db.platform((tx) => tx.query<{ tenant_id: string }>(sql));
        return { expected: null, rows };
      }
      const who = i % 2 === 0 ? a : b;
      if (kind === 2) {
        // An SQL error mid-transaction: the connection goes back to the pool after ROLLBACK.
        const err = await db
          .tenant(who.t.id, (tx) => tx.query('SELECT 1/0'))
          .then(
            () => undefined,
            (e: { code?: string }) => e,
          );
        expect(err?.code).toBe('22012');
        return { expected: null, rows: [] };
      }
      const rows = await db.tenant(who.t.id, (tx) => tx.query<{ tenant_id: string }>(sql));
      return { expected: who.t.id, rows };
    });
    for (const { expected, rows } of await Promise.all(runs)) {
      if (expected === null) {
        expect(rows).toEqual([]);
      } else {
        expect(rows.length).toBeGreaterThan(0);
        expect([...new Set(rows.map((r) => r.tenant_id))]).toEqual([expected]);
      }
    }
  });

  it('Db.tenantRead (one round trip) sees only its tenant, cannot write, and rolls back a failed statement', async () => {
    const db = api.app.get(Db);
    const sql = `SELECT tenant_id::text FROM collections UNION ALL SELECT tenant_id::text FROM vectors
                 UNION ALL SELECT tenant_id::text FROM api_keys UNION ALL SELECT tenant_id::text FROM outbox`;
    const runs = Array.from({ length: 100 }, async (_, i) => {
      const who = i % 2 === 0 ? a : b;
      if (i % 5 === 4) {
        const err = await db.tenantRead(who.t.id, ['SELECT 1/0']).then(
          () => undefined,
          (e: { code?: string }) => e,
        );
        expect(err?.code).toBe('22012');
        return;
      }
      const [rows, second] = await db.tenantRead<{ tenant_id: string }>(who.t.id, [
        sql,
        `SELECT current_setting('app.tenant_id') AS tenant_id`,
      ]);
      expect(rows.length).toBeGreaterThan(0);
      expect([...new Set(rows.map((r) => r.tenant_id))]).toEqual([who.t.id]);
      expect(second).toEqual([{ tenant_id: who.t.id }]);
    });
    await Promise.all(runs);
    await expect(db.tenantRead(a.t.id, ['DELETE FROM outbox'])).rejects.toMatchObject({
      code: '25006', // read_only_sql_transaction
    });
    await expect(db.tenantRead(a.t.id, ['SELECT 1; SELECT 2'])).rejects.toThrow(/exactly one/);
    expect(poolOf(api).totalCount).toBeLessThanOrEqual(3);
    // Every pooled connection came back outside any transaction, with no tenant, role or read-only
    // mode left over from the implicit transaction of a tenantRead message.
    const pool = poolOf(api);
    const clients = await Promise.all(Array.from({ length: 3 }, () => pool.connect()));
    try {
      for (const c of clients) {
        const { rows } = await c.query<Record<string, string>>(
          `SELECT COALESCE(current_setting('app.tenant_id', true), '') AS tenant, current_user AS role,
                  current_setting('transaction_read_only') AS read_only`,
        );
        expect(rows[0]).toEqual({ tenant: '', role: 'quiver_app', read_only: 'off' });
      }
    } finally {
      clients.forEach((c) => c.release());
    }
  });

  describe('prepared one-message reads', () => {
    const everything = statement(
      `SELECT tenant_id::text FROM collections UNION ALL SELECT tenant_id::text FROM vectors
       UNION ALL SELECT tenant_id::text FROM api_keys UNION ALL SELECT tenant_id::text FROM outbox`,
    );
    const byName = statement(
      'SELECT tenant_id::text, name FROM collections WHERE name = $1',
      SHARED_NAME,
    );
    let pool: Pool;
    let db: Db;
    // One connection, so every read below runs on the same backend and its cached plans.
    beforeEach(() => {
      pool = new Pool({ ...(poolOf(api) as unknown as { options: object }).options, max: 1 });
      db = new Db(pool, { preparedStatements: true });
    });
    afterEach(() => pool.end());

    async function preparedNames(): Promise<string[]> {
      const { rows } = await pool.query<{ name: string }>(
        `SELECT name FROM pg_prepared_statements WHERE name LIKE '${PREPARED_PREFIX}%' ORDER BY name`,
      );
      return rows.map((r) => r.name);
    }

    it("a statement prepared under one tenant answers only the next tenant's rows on the same connection", async () => {
      for (let i = 0; i < 40; i++) {
        const who = i % 2 === 0 ? a : b;
        const [rows, named] = await db.tenantRead<{ tenant_id: string; name?: string }>(who.t.id, [
          everything,
          byName,
        ]);
        expect(rows.length).toBeGreaterThan(0);
        expect([...new Set(rows.map((r) => r.tenant_id))]).toEqual([who.t.id]);
        expect(named).toEqual([{ tenant_id: who.t.id, name: SHARED_NAME }]);
      }
      // Really prepared: the set-up and both statements, once each, on the one connection.
      expect(await preparedNames()).toHaveLength(3);
    });

    it('refuses a suspended or unknown tenant with the prepared set-up as with the inline one', async () => {
      const doomed = await api.createTenant('prep-suspended');
      await db.tenantRead(doomed.id, [everything]);
      expect((await api.admin('POST', `/tenants/${doomed.id}/suspend`)).status).toBe(200);
      await expect(db.tenantRead(doomed.id, [everything])).rejects.toMatchObject({
        code: 'tenant_suspended',
      });
      await expect(
        db.tenantRead('00000000-0000-4000-8000-000000000000', [everything]),
      ).rejects.toMatchObject({ code: 'tenant_not_found' });
      await expect(db.tenantRead('not-a-uuid', [everything])).rejects.toMatchObject({
        code: 'tenant_not_found',
      });
    });

    it('a value cannot break out of its literal', async () => {
      const [rows] = await db.tenantRead(a.t.id, [
        statement('SELECT name FROM collections WHERE name = $1', "x' OR true --"),
      ]);
      expect(rows).toEqual([]);
      const [names] = await db.tenantRead<{ name: string }>(a.t.id, [
        statement('SELECT name FROM collections WHERE name = ANY($1::text[])', [
          SHARED_NAME,
          '", "x',
          "' OR true --",
          'back\\slash',
        ]),
      ]);
      expect(names).toEqual([{ name: SHARED_NAME }]);
    });

    it('a failing read leaves the connection and its prepared statements in a known state', async () => {
      const fails = statement('SELECT 1 / $1::int AS x', 0);
      await expect(db.tenantRead(a.t.id, [fails])).rejects.toMatchObject({ code: '22012' });
      // Its PREPARE ran before the failure and stays: the next read executes it, no duplicate.
      const [ok] = await db.tenantRead(a.t.id, [statement('SELECT 1 / $1::int AS x', 1)]);
      expect(ok).toEqual([{ x: 1 }]);
      await expect(db.tenantRead(a.t.id, [everything, fails])).rejects.toMatchObject({
        code: '22012',
      });
      const [rows] = await db.tenantRead<{ tenant_id: string }>(b.t.id, [everything]);
      expect([...new Set(rows.map((r) => r.tenant_id))]).toEqual([b.t.id]);
      const { rows: state } = await pool.query<Record<string, string>>(
        `SELECT COALESCE(current_setting('app.tenant_id', true), '') AS tenant, current_user AS role,
                current_setting('transaction_read_only') AS read_only`,
      );
      expect(state[0]).toEqual({ tenant: '', role: 'quiver_app', read_only: 'off' });
    });

    it('falls back to inline statements when the server loses them behind its back (a pooler)', async () => {
      const [before] = await db.tenantRead<{ tenant_id: string }>(a.t.id, [everything]);
      expect(await preparedNames()).toHaveLength(2);
      // What PgBouncer's server reset, or a transaction-mode pooler handing over another
      // backend, looks like to this process.
      await pool.query('DEALLOCATE ALL');
      const [after] = await db.tenantRead<{ tenant_id: string }>(a.t.id, [everything]);
      expect(after).toEqual(before);
      // From then on nothing is prepared any more.
      await db.tenantRead(b.t.id, [byName]);
      expect(await preparedNames()).toEqual([]);
    });

    it('with preparation off, sends every statement inline and prepares nothing', async () => {
      const inline = new Db(pool, { preparedStatements: false });
      const [rows, named] = await inline.tenantRead<{ tenant_id: string }>(b.t.id, [
        everything,
        byName,
      ]);
      expect([...new Set(rows.map((r) => r.tenant_id))]).toEqual([b.t.id]);
      expect(named).toEqual([{ tenant_id: b.t.id, name: SHARED_NAME }]);
      expect(await preparedNames()).toEqual([]);
    });
  });

  // One tenant's collection DDL must not make another tenant's request fail: each collection is
  // a partition of the shared `vectors` table, so creates and deletes of all tenants meet there.
  it("one tenant creating and deleting collections never fails another tenant's at the same time", async () => {
    const tenantOf = (i: number) => (i % 2 === 0 ? a : b);
    for (let i = 0; i < 4; i++) await tenantOf(i).t.collection(`doomed-${i}`, 3);
    const results = await Promise.all([
      ...Array.from({ length: 4 }, (_, i) =>
        tenantOf(i).t.request('DELETE', `/collections/doomed-${i}`),
      ),
      ...Array.from({ length: 8 }, (_, i) =>
        tenantOf(i).t.request('POST', '/collections', { name: `concurrent-${i}`, dimension: 3 }),
      ),
    ]);
    expect(results.map((r) => [r.status, r.body?.code ?? null])).toEqual([
      ...Array.from({ length: 4 }, () => [204, null]),
      ...Array.from({ length: 8 }, () => [201, null]),
    ]);
    const namesA = (await a.t.request('GET', '/collections')).body.items.map(
      (c: { name: string }) => c.name,
    );
    expect(namesA).toEqual(
      expect.arrayContaining(['concurrent-0', 'concurrent-2', 'concurrent-4', 'concurrent-6']),
    );
    expect(namesA).not.toEqual(expect.arrayContaining(['concurrent-1']));
    expect(namesA).not.toEqual(expect.arrayContaining(['doomed-0']));
  });
});

describe('a single pooled connection (DATABASE_POOL_SIZE=1) used by one tenant, then by a query with none', () => {
  let api: TestApp;
  let pool: Pool;
  let a: Seeded;
  let b: Seeded;
  let pid: number;

  /** What the (only) connection carries, read by a query that sets no tenant. */
  async function leftover() {
    const r = await pool.query<Record<string, unknown>>(`
      SELECT pg_backend_pid() AS pid, current_user AS "user", current_setting('role') AS role,
             COALESCE(current_setting('app.tenant_id', true), '') AS tenant,
             COALESCE(current_setting('app.key_hash', true), '') AS "keyHash",
             (SELECT count(*)::int FROM collections) AS collections,
             (SELECT count(*)::int FROM vectors) AS vectors,
             (SELECT count(*)::int FROM api_keys) AS api_keys,
             (SELECT count(*)::int FROM outbox) AS outbox`);
    return r.rows[0];
  }

  const clean = () => ({
    pid,
    user: 'quiver_app',
    role: 'none',
    tenant: '',
    keyHash: '',
    collections: 0,
    vectors: 0,
    api_keys: 0,
    outbox: 0,
  });

  beforeAll(async () => {
    // No key cache: every request resolves its key through the database (app.key_hash) too.
    api = await startApp({ DATABASE_POOL_SIZE: '1', API_KEY_CACHE_TTL_MS: '0' });
    pool = poolOf(api);
    a = await seedTenant(api, 'a', 3);
    b = await seedTenant(api, 'b', 5);
    pid = (await leftover()).pid as number;
  });
  afterAll(() => api?.close());

  it('runs with exactly one connection, so every check below reuses the one the tenant used', async () => {
    expect(pool.options.max).toBe(1);
    await a.t.request('GET', '/collections');
    expect(pool.totalCount).toBe(1);
    expect((await leftover()).pid).toBe(pid);
  });

  it('after a successful tenant request it carries no tenant, role, key hash or rows', async () => {
    const r = await a.t.request('POST', `/collections/${SHARED_NAME}/search`, {
      vector: [1, 0, 0],
      mode: 'exact',
    });
    expect(r.status).toBe(200);
    expect(r.body.matches).toHaveLength(3);
    expect(await leftover()).toEqual(clean());
  });

  it('after a write request it carries nothing either', async () => {
    const r = await a.t.request('POST', `/collections/${SHARED_NAME}/vectors`, {
      vectors: [
        {
          id: a.shared.vectorIds[0],
          values: [1, 0.05, 0.05],
          metadata: { tenant: a.t.id, label: a.label, i: 0 },
        },
      ],
    });
    expect(r.status).toBe(200);
    expect(await leftover()).toEqual(clean());
  });

  it('after a request that failed inside its transaction it carries nothing', async () => {
    const r = await a.t.request('GET', `/collections/${encodeURIComponent(b.own.name)}`);
    expect(r.status).toBe(404);
    expect(await leftover()).toEqual(clean());
  });

  it('after a transaction that hit an SQL error it is usable and carries nothing', async () => {
    await expect(
      api.app.get(Db).tenant(a.t.id, (tx) => tx.query('SELECT 1/0')),
    ).rejects.toMatchObject({ code: '22012' });
    expect(await leftover()).toEqual(clean());
  });

  it('serves 50 interleaved requests of two tenants on that one connection, each seeing only its own', async () => {
    await interleaved(a, b, 50);
    expect(await leftover()).toEqual(clean());
  });
});
