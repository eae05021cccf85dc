import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { hashSecret } from '@libs/api-key';
import { APP_ROLE, Db, statement } from '@app/database/db';
import { TENANT_OWNED_TABLES } from '@app/tenancy/tenant-purger';
import { appRoleClient, ownerClient, startApp, TestApp } from './support/harness';
import {
  asTenant,
  partitionName,
  pgErrorOf,
  Seeded,
  seedTenant,
  TENANT_PREDICATE_SQL,
  tenantRowCounts,
  tenantTablesFromCatalogue,
} from './support/isolation-fixtures';

/**
 * Isolation below the HTTP layer: the app's own Db helper, hand-written SQL as the app role, and the
 * catalogue (roles, ownership, row-level security, policies, keys). These are the guarantees that hold
 * even when application code forgets its tenant filter.
 */

const TABLES = ['collections', 'vectors', 'api_keys', 'outbox'] as const;

/** Thrown to roll a Db transaction back after looking at what it did. */
class Rollback extends Error {}

describe('cross-tenant isolation in the database', () => {
  let api: TestApp;
  let db: Db;
  let owner: Client;
  let app: Client;
  let a: Seeded;
  let b: Seeded;

  beforeAll(async () => {
    api = await startApp();
    db = api.app.get(Db);
    [owner, app] = await Promise.all([ownerClient(), appRoleClient()]);
    // One after the other: concurrent collection creation is its own test (isolation-pool).
    a = await seedTenant(api, 'a', 3);
    b = await seedTenant(api, 'b', 5);
  });
  afterAll(async () => {
    await app?.end();
    await owner?.end();
    await api?.close();
  });

  /** Rows of one tenant in a parent table, as ground truth from the owner connection. */
  async function ownerCount(tenantId: string, table: string): Promise<number> {
    return (await tenantRowCounts(owner, tenantId))[table] ?? 0;
  }

  describe('a query through the Db helper with its tenant filter removed', () => {
    it.each(TABLES)(
      "SELECT * FROM %s in A's transaction returns exactly A's rows",
      async (table) => {
        const rows = await db.tenant(a.t.id, (tx) =>
          tx.query<{ tenant_id: string }>(`SELECT * FROM ${table}`),
        );
        expect(rows.length).toBeGreaterThan(0);
        expect([...new Set(rows.map((r) => r.tenant_id))]).toEqual([a.t.id]);
        expect(rows.length).toBe(await ownerCount(a.t.id, table));
        // B has rows in the same table: there was something to leak.
        expect(await ownerCount(b.t.id, table)).toBeGreaterThan(0);
      },
    );

    it("asking for B's rows by tenant_id inside A's transaction returns none", async () => {
      const rows = await db.tenant(a.t.id, (tx) =>
        tx.query(
          `SELECT 'collections' AS t, id::text FROM collections WHERE tenant_id = $1
           UNION ALL SELECT 'vectors', id FROM vectors WHERE tenant_id = $1
           UNION ALL SELECT 'api_keys', id::text FROM api_keys WHERE tenant_id = $1
           UNION ALL SELECT 'outbox', id::text FROM outbox WHERE tenant_id = $1`,
          [b.t.id],
        ),
      );
      expect(rows).toEqual([]);
    });

    it('UPDATE and DELETE without WHERE in A’s transaction touch only A’s rows', async () => {
      const aVectors = a.shared.vectorIds.length + a.own.vectorIds.length;
      const seen: Record<string, number> = {};
      await expect(
        db.tenant(a.t.id, async (tx) => {
          seen.updatedCollections = await tx.execute(`UPDATE collections SET updated_at = now()`);
          seen.updatedKeys = await tx.execute(`UPDATE api_keys SET name = name || '!'`);
          seen.deletedVectors = await tx.execute(`DELETE FROM vectors`);
          throw new Rollback();
        }),
      ).rejects.toBeInstanceOf(Rollback);
      expect(seen).toEqual({ updatedCollections: 2, updatedKeys: 2, deletedVectors: aVectors });
      expect(await ownerCount(b.t.id, 'vectors')).toBe(
        b.shared.vectorIds.length + b.own.vectorIds.length,
      );
    });

    it('a platform transaction (no tenant) sees no tenant rows at all', async () => {
      const [row] = await db.platform((tx) =>
        tx.query<Record<string, string>>(
          `SELECT (SELECT count(*) FROM collections) AS collections,
                  (SELECT count(*) FROM vectors) AS vectors,
                  (SELECT count(*) FROM api_keys) AS api_keys,
                  (SELECT count(*) FROM outbox) AS outbox`,
        ),
      );
      expect(row).toEqual({ collections: '0', vectors: '0', api_keys: '0', outbox: '0' });
    });

    it('rejects a tenant id that is not a UUID instead of inlining it into its SQL', async () => {
      const injected = `${a.t.id}', true), set_config('app.tenant_id', '${b.t.id}`;
      await expect(
        db.tenant(injected, (tx) => tx.query('SELECT * FROM collections')),
      ).rejects.toMatchObject({ code: 'tenant_not_found' });
    });
  });

  describe('hand-written SQL as the app role', () => {
    it('connects as the app role, not the owner', async () => {
      const r = await app.query<{ u: string }>('SELECT current_user AS u');
      expect(r.rows[0].u).toBe(APP_ROLE);
    });

    it.each(TABLES)(
      "with app.tenant_id = A, SELECT * FROM %s shows only A's rows",
      async (table) => {
        const rows = await asTenant(app, a.t.id, async () => {
          const r = await app.query<{ tenant_id: string }>(`SELECT * FROM ${table}`);
          return r.rows;
        });
        expect(rows.length).toBeGreaterThan(0);
        expect([...new Set(rows.map((r) => r.tenant_id))]).toEqual([a.t.id]);
        expect(rows.length).toBe(await ownerCount(a.t.id, table));
      },
    );

    it.each(TABLES)(
      'with no tenant set, SELECT * FROM %s returns zero rows, not an error',
      async (table) => {
        const unset = await asTenant(
          app,
          null,
          async () => (await app.query(`SELECT * FROM ${table}`)).rows,
        );
        expect(unset).toEqual([]);
        const empty = await asTenant(
          app,
          '',
          async () => (await app.query(`SELECT * FROM ${table}`)).rows,
        );
        expect(empty).toEqual([]);
        expect(await ownerCount(b.t.id, table)).toBeGreaterThan(0);
      },
    );

    it('a malformed app.tenant_id fails the query instead of widening it', async () => {
      const err = await asTenant(app, `${a.t.id}' OR true --`, () =>
        pgErrorOf(app.query('SELECT * FROM collections')),
      );
      expect(err.code).toBe('22P02');
    });

    it("reading B's vector partition directly, in A's context, shows nothing of B's", async () => {
      const part = partitionName(b.own.id);
      const outcome = await asTenant(app, a.t.id, async () => {
        try {
          return { rows: (await app.query(`SELECT * FROM "${part}"`)).rows };
        } catch (err) {
          return { code: (err as { code?: string }).code };
        }
      });
      // No grant on partitions (permission denied); were there one, their own policy would apply.
      expect([{ code: '42501' }, { rows: [] }]).toContainEqual(outcome);
    });

    it('cannot switch row security off, disable it, drop a policy or become the owner', async () => {
      const attempts: Array<[string, string]> = [
        ['SET row_security = off; SELECT * FROM collections', '42501'],
        ['ALTER TABLE collections DISABLE ROW LEVEL SECURITY', '42501'],
        ['ALTER TABLE vectors NO FORCE ROW LEVEL SECURITY', '42501'],
        ['DROP POLICY tenant_isolation ON collections', '42501'],
        ['CREATE POLICY open ON collections USING (true)', '42501'],
        ['SET ROLE quiver_owner', '42501'],
        [`SELECT set_config('role', 'postgres', true)`, '42501'],
        ['CREATE TABLE escape AS SELECT * FROM collections', '42501'],
      ];
      for (const [sql, code] of attempts) {
        const err = await asTenant(app, a.t.id, () => pgErrorOf(app.query(sql)));
        expect({ sql, code: err.code }).toEqual({ sql, code });
      }
      const [t] = await tenantTablesFromCatalogue(owner).then((ts) =>
        ts.filter((x) => x.name === 'collections'),
      );
      expect(t).toMatchObject({ rowSecurity: true, forceRowSecurity: true });
    });

    it("cannot drop or re-provision B's partition through the SECURITY DEFINER functions", async () => {
      for (const sql of [
        `SELECT quiver_drop_collection_partition($1)`,
        `SELECT quiver_provision_collection($1, 16, 64)`,
      ]) {
        const err = await asTenant(app, a.t.id, () => pgErrorOf(app.query(sql, [b.own.id])));
        expect({ sql, code: err.code }).toEqual({ sql, code: 'P0002' });
      }
      const parts = await tenantTablesFromCatalogue(owner);
      expect(parts.map((p) => p.name)).toContain(partitionName(b.own.id));
      expect(await ownerCount(b.t.id, partitionName(b.own.id))).toBe(b.own.vectorIds.length);
    });

    it('the key-lookup policy shows only the key whose hash is held, read-only, and nothing else', async () => {
      const hashHex = hashSecret(b.t.adminKey).toString('hex');
      const seen = await asTenant(app, null, async () => {
        await app.query(`SELECT set_config('app.key_hash', $1, true)`, [hashHex]);
        const keys = await app.query<{ id: string }>('SELECT id FROM api_keys');
        const collections = await app.query('SELECT id FROM collections');
        const updated = await app.query(`UPDATE api_keys SET name = 'taken over'`);
        const deleted = await app.query(`DELETE FROM api_keys`);
        return {
          keys: keys.rows.map((k) => k.id),
          collections: collections.rowCount,
          updated: updated.rowCount,
          deleted: deleted.rowCount,
        };
      });
      expect(seen).toEqual({ keys: [b.t.adminKeyId], collections: 0, updated: 0, deleted: 0 });
      const wrong = await asTenant(app, null, async () => {
        await app.query(`SELECT set_config('app.key_hash', $1, true)`, ['00'.repeat(32)]);
        return (await app.query('SELECT id FROM api_keys')).rows;
      });
      expect(wrong).toEqual([]);
    });
  });

  describe('writes carrying another tenant’s id', () => {
    const inserts = (): Array<[string, string, unknown[]]> => [
      [
        'collections',
        `INSERT INTO collections (tenant_id, id, name, dimension, metric, index_kind)
         VALUES ($1, $2, 'planted', 3, 'cosine', 'hnsw')`,
        [b.t.id, randomUUID()],
      ],
      [
        'api_keys',
        `INSERT INTO api_keys (tenant_id, id, name, scopes, secret_hash, secret_last4)
         VALUES ($1, $2, 'planted', '{tenant:admin}', $3, 'abcd')`,
        [b.t.id, randomUUID(), hashSecret(randomUUID())],
      ],
      [
        'outbox',
        `INSERT INTO outbox (tenant_id, id, type, data) VALUES ($1, $2, 'planted', '{}')`,
        [b.t.id, randomUUID()],
      ],
      [
        'vectors',
        `INSERT INTO vectors (tenant_id, collection_id, id, embedding) VALUES ($1, $2, 'planted', '[1,0,0]')`,
        [b.t.id, b.own.id],
      ],
    ];

    it.each(TABLES)(
      "INSERT INTO %s with tenant B's id is rejected by the policy in A's context",
      async (table) => {
        const [, sql, params] = inserts().find(([t]) => t === table)!;
        const before = await ownerCount(b.t.id, table);
        const err = await asTenant(app, a.t.id, () => pgErrorOf(app.query(sql, params)));
        expect(err.code).toBe('42501');
        expect(err.message).toMatch(/new row violates row-level security policy/);
        expect(await ownerCount(b.t.id, table)).toBe(before);
      },
    );

    it.each([
      ['collections', `UPDATE collections SET tenant_id = $1 WHERE id = $2`],
      ['api_keys', `UPDATE api_keys SET tenant_id = $1 WHERE id = $2`],
      ['outbox', `UPDATE outbox SET tenant_id = $1 WHERE id = $2`],
    ])("UPDATE moving A's %s row to tenant B is rejected by the policy", async (table, sql) => {
      const id = await asTenant(app, a.t.id, async () => {
        const r = await app.query<{ id: string }>(
          table === 'collections'
            ? `SELECT id FROM collections WHERE id = '${a.own.id}'`
            : `SELECT id FROM ${table} LIMIT 1`,
        );
        return r.rows[0].id;
      });
      const err = await asTenant(app, a.t.id, () => pgErrorOf(app.query(sql, [b.t.id, id])));
      expect(err.code).toBe('42501');
      expect(err.message).toMatch(/new row violates row-level security policy/);
      const stillA = await asTenant(
        app,
        a.t.id,
        async () => (await app.query(`SELECT 1 FROM ${table} WHERE id = $1`, [id])).rowCount,
      );
      expect(stillA).toBe(1);
    });

    it("UPDATE moving A's vectors to tenant B is rejected", async () => {
      const err = await asTenant(app, a.t.id, () =>
        pgErrorOf(app.query(`UPDATE vectors SET tenant_id = $1`, [b.t.id])),
      );
      expect(err.code).toBe('42501');
      expect(err.message).toMatch(/new row violates row-level security policy/);
      expect(await ownerCount(a.t.id, 'vectors')).toBe(
        a.shared.vectorIds.length + a.own.vectorIds.length,
      );
    });

    it.each(['app role', 'owner'])(
      "a vector of A's cannot point at B's collection (as the %s)",
      async (who) => {
        const c = who === 'owner' ? owner : app;
        const before = await ownerCount(b.t.id, partitionName(b.own.id));
        const err = await asTenant(c, a.t.id, () =>
          pgErrorOf(
            c.query(
              `INSERT INTO vectors (tenant_id, collection_id, id, embedding) VALUES ($1, $2, 'stray', '[1,0,0]')`,
              [a.t.id, b.own.id],
            ),
          ),
        );
        // B's partition's CHECK (tenant_id = B) fires before the (tenant_id, collection_id) FK
        // would; the next test removes that CHECK to show the FK alone also refuses the row.
        expect({ code: err.code, constraint: err.constraint }).toEqual({
          code: '23514',
          constraint: `${partitionName(b.own.id)}_check`,
        });
        expect(await ownerCount(b.t.id, partitionName(b.own.id))).toBe(before);
        const stray = await asTenant(
          owner,
          a.t.id,
          async () =>
            (await owner.query(`SELECT 1 FROM vectors WHERE collection_id = $1`, [b.own.id]))
              .rowCount,
        );
        expect(stray).toBe(0);
      },
    );

    it("the (tenant_id, collection_id) foreign key alone refuses a vector of A's in B's collection", async () => {
      const part = partitionName(b.own.id);
      const err = await asTenant(owner, a.t.id, async () => {
        // Rolled back with the transaction: the CHECK is gone only for this probe.
        await owner.query(`ALTER TABLE "${part}" DROP CONSTRAINT "${part}_check"`);
        return pgErrorOf(
          owner.query(
            `INSERT INTO vectors (tenant_id, collection_id, id, embedding) VALUES ($1, $2, 'stray', '[1,0,0]')`,
            [a.t.id, b.own.id],
          ),
        );
      });
      expect({ code: err.code, constraint: err.constraint }).toEqual({
        code: '23503',
        constraint: 'vectors_collection_fk',
      });
      const checks = await owner.query(
        `SELECT 1 FROM pg_constraint WHERE conname = $1 AND contype = 'c'`,
        [`${part}_check`],
      );
      expect(checks.rowCount).toBe(1);
    });

    it("moving A's vector into B's collection is rejected", async () => {
      const err = await asTenant(app, a.t.id, () =>
        pgErrorOf(
          app.query(`UPDATE vectors SET collection_id = $1 WHERE collection_id = $2`, [
            b.own.id,
            a.own.id,
          ]),
        ),
      );
      expect({ code: err.code, constraint: err.constraint }).toEqual({
        code: '23514',
        constraint: `${partitionName(b.own.id)}_check`,
      });
      expect(await ownerCount(b.t.id, partitionName(b.own.id))).toBe(b.own.vectorIds.length);
      expect(await ownerCount(a.t.id, partitionName(a.own.id))).toBe(a.own.vectorIds.length);
    });
  });

  describe('the catalogue', () => {
    it('the app role is not superuser, has no BYPASSRLS and is no member of the owner role', async () => {
      const r = await owner.query(
        `SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb,
                pg_has_role($1, 'quiver_owner', 'MEMBER') AS owner_member,
                (SELECT bool_or(pg_has_role($1, c.relowner, 'MEMBER')) FROM pg_class c
                   JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public') AS any_table_owner_member
           FROM pg_roles WHERE rolname = $1`,
        [APP_ROLE],
      );
      expect(r.rows).toEqual([
        {
          rolsuper: false,
          rolbypassrls: false,
          rolcreaterole: false,
          rolcreatedb: false,
          owner_member: false,
          any_table_owner_member: false,
        },
      ]);
    });

    it('the app role owns no table, sequence, view, function, type, schema or the database', async () => {
      const r = await owner.query(
        `SELECT 'relation' AS kind, relname::text AS name FROM pg_class WHERE relowner = $1::regrole
         UNION ALL SELECT 'function', proname::text FROM pg_proc WHERE proowner = $1::regrole
         UNION ALL SELECT 'type', typname::text FROM pg_type WHERE typowner = $1::regrole
         UNION ALL SELECT 'schema', nspname::text FROM pg_namespace WHERE nspowner = $1::regrole
         UNION ALL SELECT 'database', datname::text FROM pg_database
           WHERE datname = current_database() AND datdba = $1::regrole`,
        [APP_ROLE],
      );
      expect(r.rows).toEqual([]);
    });

    it('every table with a tenant_id column, each collection partition included, has RLS enabled and forced with the tenant policy', async () => {
      const tables = await tenantTablesFromCatalogue(owner);
      const names = tables.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining([...TABLES, partitionName(b.own.id)]));
      expect(tables.filter((t) => t.parent === 'vectors').length).toBeGreaterThanOrEqual(4);
      const policies = await owner.query<{
        table: string;
        cmd: string;
        qual: string;
        check: string;
      }>(
        `SELECT c.relname AS table, p.polcmd AS cmd, pg_get_expr(p.polqual, p.polrelid) AS qual,
                pg_get_expr(p.polwithcheck, p.polrelid) AS check
           FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid`,
      );
      const problems: string[] = [];
      for (const t of tables) {
        if (!t.rowSecurity) problems.push(`${t.name}: row level security not enabled`);
        if (!t.forceRowSecurity) problems.push(`${t.name}: row level security not forced`);
        if (t.owner === APP_ROLE) problems.push(`${t.name}: owned by the app role`);
        const own = policies.rows.filter((p) => p.table === t.name);
        const isolating = own.some(
          (p) =>
            p.cmd === '*' && p.qual === TENANT_PREDICATE_SQL && p.check === TENANT_PREDICATE_SQL,
        );
        if (!isolating)
          problems.push(`${t.name}: no tenant_isolation policy with the tenant predicate`);
      }
      expect(problems).toEqual([]);
    });

    it('no policy on a tenant table lets a write through without the tenant predicate', async () => {
      const tables = new Set((await tenantTablesFromCatalogue(owner)).map((t) => t.name));
      const r = await owner.query<{
        table: string;
        name: string;
        cmd: string;
        qual: string | null;
        check: string | null;
        permissive: boolean;
      }>(
        `SELECT c.relname AS table, p.polname AS name, p.polcmd AS cmd, p.polpermissive AS permissive,
                pg_get_expr(p.polqual, p.polrelid) AS qual, pg_get_expr(p.polwithcheck, p.polrelid) AS check
           FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid`,
      );
      const loose = r.rows
        .filter((p) => tables.has(p.table) && p.permissive && p.cmd !== 'r')
        .filter(
          (p) =>
            p.qual !== TENANT_PREDICATE_SQL ||
            (p.check !== null && p.check !== TENANT_PREDICATE_SQL),
        )
        .map((p) => `${p.table}.${p.name}`);
      expect(loose).toEqual([]);
      // The extra read policies: the key lookup, bound to the hash the transaction holds, and the
      // platform's read of usage rollups (leaderboard, billing export; app.platform transactions only).
      const readOnly = r.rows
        .filter((p) => tables.has(p.table) && p.cmd === 'r')
        .map((p) => `${p.table}.${p.name}`)
        .sort();
      expect(readOnly).toEqual([
        'api_keys.key_lookup',
        'usage_rollups.platform_read',
        'usage_storage.platform_read',
      ]);
      const platformRead = r.rows.filter((p) => p.name === 'platform_read');
      for (const p of platformRead) {
        expect(p.qual).toBe(`(current_setting('app.platform'::text, true) = 'on'::text)`);
      }
    });

    it('tenant_id leads every tenant table’s primary key and is part of every foreign key between them', async () => {
      const tables = (await tenantTablesFromCatalogue(owner)).filter((t) => t.parent === null);
      const r = await owner.query<{
        table: string;
        type: string;
        cols: string[];
        ref: string | null;
        refcols: string[] | null;
      }>(
        `SELECT c.relname AS table, k.contype AS type,
                ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, o)
                        JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY o) AS cols,
                r.relname AS ref,
                ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, o)
                        JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY o) AS refcols
           FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
           LEFT JOIN pg_class r ON r.oid = k.confrelid
          WHERE k.contype IN ('p', 'f') AND c.relname = ANY($1) AND k.conparentid = 0`,
        [tables.map((t) => t.name)],
      );
      const names = new Set(tables.map((t) => t.name));
      const problems: string[] = [];
      for (const t of names) {
        const pk = r.rows.find((k) => k.table === t && k.type === 'p');
        if (pk?.cols[0] !== 'tenant_id') problems.push(`${t}: primary key ${pk?.cols.join(',')}`);
      }
      for (const fk of r.rows.filter((k) => k.type === 'f' && k.ref && names.has(k.ref))) {
        const i = fk.cols.indexOf('tenant_id');
        if (i < 0 || fk.refcols?.[i] !== 'tenant_id')
          problems.push(`${fk.table} -> ${fk.ref}: (${fk.cols.join(',')})`);
      }
      expect(problems).toEqual([]);
      expect(r.rows.some((k) => k.table === 'vectors' && k.ref === 'collections')).toBe(true);
    });

    it('TENANT_OWNED_TABLES (the purger’s list) names every tenant table in the catalogue', async () => {
      const tables = (await tenantTablesFromCatalogue(owner))
        .filter((t) => t.parent === null)
        .map((t) => t.name)
        .sort();
      expect([...TENANT_OWNED_TABLES].sort()).toEqual(tables);
    });

    it('the owner role is itself bound by the policies (forced RLS): without a tenant it sees nothing', async () => {
      const none = await asTenant(
        owner,
        null,
        async () => (await owner.query('SELECT count(*)::int AS n FROM collections')).rows[0],
      );
      expect(none).toEqual({ n: 0 });
      expect(await ownerCount(a.t.id, 'collections')).toBe(2);
    });
  });

  describe('the tenant set-up (quiver_enter_tenant(id, read_only))', () => {
    /** Runs the set-up and `after` in one transaction on `c`, then rolls back. */
    async function entered(
      c: Client,
      tenantId: string,
      readOnly: boolean,
    ): Promise<{ status: unknown; state: Record<string, unknown>; collections: number }> {
      await c.query('BEGIN');
      try {
        const { rows } = await c.query(
          `SELECT quiver_enter_tenant('${tenantId}', ${readOnly}) AS status`,
        );
        const { rows: state } = await c.query(
          `SELECT current_user::text AS role, current_setting('app.tenant_id', true) AS tenant,
                  current_setting('transaction_read_only') AS read_only`,
        );
        const { rows: counted } = await c.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM collections',
        );
        return { status: rows[0].status, state: state[0], collections: counted[0].n };
      } finally {
        await c.query('ROLLBACK');
      }
    }

    it("sets role, tenant and read-only mode and returns the tenant's status", async () => {
      const ro = await entered(app, a.t.id, true);
      expect(ro.status).toBe('active');
      expect(ro.state).toEqual({ role: 'quiver_app', tenant: a.t.id, read_only: 'on' });
      expect(ro.collections).toBe(await ownerCount(a.t.id, 'collections'));
      const rw = await entered(app, b.t.id, false);
      expect(rw.status).toBe('active');
      expect(rw.state).toEqual({ role: 'quiver_app', tenant: b.t.id, read_only: 'off' });
      expect(rw.collections).toBe(await ownerCount(b.t.id, 'collections'));
    });

    it('refuses writes after a read-only set-up', async () => {
      await app.query('BEGIN');
      try {
        await app.query(`SELECT quiver_enter_tenant('${a.t.id}', true)`);
        await expect(app.query('DELETE FROM outbox')).rejects.toMatchObject({ code: '25006' });
      } finally {
        await app.query('ROLLBACK');
      }
    });

    it('fails, rather than run without the app role, on a session that cannot become it', async () => {
      // The owner is not a member of quiver_app: the set-up refuses instead of leaving it the owner.
      await expect(entered(owner, a.t.id, false)).rejects.toThrow(
        /permission denied to set role "quiver_app"/,
      );
    });

    it('answers no status for a tenant that does not exist, and shows it nothing', async () => {
      const none = await entered(app, '00000000-0000-4000-8000-000000000000', true);
      expect(none.status).toBeNull();
      expect(none.collections).toBe(0);
    });

    it('leaves nothing on the connection after the transaction', async () => {
      await entered(app, a.t.id, true);
      const { rows } = await app.query(
        `SELECT COALESCE(current_setting('app.tenant_id', true), '') AS tenant,
                current_setting('transaction_read_only') AS read_only`,
      );
      expect(rows[0]).toEqual({ tenant: '', read_only: 'off' });
    });
  });

  describe('the one-trip search set-up (quiver_search_setup)', () => {
    /** The function's answer and the ef_search it left for the rest of the message, in A's context. */
    async function setup(
      tenantId: string,
      collectionId: string | null,
      ef: number | null,
      topK: number,
    ): Promise<{ present: unknown; ef: string }> {
      const { setup: row, rows } = await db.tenantReadWith<{ ef: string }>(
        tenantId,
        statement(
          'quiver_search_setup($1::uuid, $2::int, 100, $3::int) AS present',
          collectionId,
          ef,
          topK,
        ),
        [`SELECT current_setting('hnsw.ef_search') AS ef`],
      );
      return { present: row.present, ef: rows[0][0].ef };
    }

    /** Runs `fn` with the tenant's settings.search.efSearch at `ef`, then restores the settings. */
    async function withTenantEfSearch(
      tenantId: string,
      ef: number,
      fn: () => Promise<void>,
    ): Promise<void> {
      // The owner session has app.platform on (ownerClient): it reads and changes any tenant row.
      const { rows } = await owner.query<{ settings: unknown }>(
        'SELECT settings FROM tenants WHERE id = $1',
        [tenantId],
      );
      await owner.query(
        `UPDATE tenants SET settings = jsonb_set(settings, '{search}', jsonb_build_object('efSearch', $2::int)) WHERE id = $1`,
        [tenantId, ef],
      );
      try {
        await fn();
      } finally {
        await owner.query('UPDATE tenants SET settings = $2 WHERE id = $1', [
          tenantId,
          rows[0].settings,
        ]);
      }
    }

    it("sees the tenant's own collection and not another tenant's", async () => {
      expect((await setup(a.t.id, a.own.id, null, 10)).present).toBe(true);
      expect((await setup(a.t.id, b.own.id, null, 10)).present).toBe(false);
      expect((await setup(a.t.id, b.shared.id, null, 10)).present).toBe(false);
    });

    it('without a collection (the caller has just found it) only sets ef_search', async () => {
      expect(await setup(a.t.id, null, null, 10)).toEqual({ present: true, ef: '100' });
      expect(await setup(a.t.id, null, 250, 10)).toEqual({ present: true, ef: '250' });
      expect(await setup(a.t.id, null, 50, 300)).toEqual({ present: true, ef: '300' });
      await withTenantEfSearch(a.t.id, 180, async () => {
        expect(await setup(a.t.id, null, null, 10)).toEqual({ present: true, ef: '180' });
      });
    });

    it('sets ef_search: the request, else the tenant setting, else the default, within [topK, 1000]', async () => {
      expect((await setup(a.t.id, a.own.id, null, 10)).ef).toBe('100');
      expect((await setup(a.t.id, a.own.id, 250, 10)).ef).toBe('250');
      expect((await setup(a.t.id, a.own.id, 50, 300)).ef).toBe('300');
      expect((await setup(a.t.id, a.own.id, 5000, 10)).ef).toBe('1000');
      await withTenantEfSearch(a.t.id, 180, async () => {
        expect((await setup(a.t.id, a.own.id, null, 10)).ef).toBe('180');
        expect((await setup(a.t.id, a.own.id, 250, 10)).ef).toBe('250');
        // A's setting is A's alone: B's search never reads it.
        expect((await setup(b.t.id, b.own.id, null, 10)).ef).toBe('100');
      });
    });
  });

  describe('the platform table tenants', () => {
    it("shows a tenant transaction its own row and no other tenant's", async () => {
      const rows = await db.tenant(a.t.id, (tx) =>
        tx.query<{ id: string }>('SELECT id FROM tenants'),
      );
      expect(rows.map((r) => r.id)).toEqual([a.t.id]);
      const asB = await db.tenant(a.t.id, (tx) =>
        tx.query('SELECT settings FROM tenants WHERE id = $1', [b.t.id]),
      );
      expect(asB).toEqual([]);
    });

    it("cannot change another tenant's row from a tenant transaction", async () => {
      const changed = await db.tenant(a.t.id, (tx) =>
        tx.execute(`UPDATE tenants SET name = 'hijacked' WHERE id = $1`, [b.t.id]),
      );
      expect(changed).toBe(0);
      const { rows } = await owner.query<{ name: string }>(
        'SELECT name FROM tenants WHERE id = $1',
        [b.t.id],
      );
      expect(rows[0].name).not.toBe('hijacked');
    });

    it('shows the app role nothing without a tenant or the platform flag, and all with it', async () => {
      await app.query('BEGIN');
      try {
        const none = await app.query('SELECT id FROM tenants');
        expect(none.rows).toEqual([]);
        await app.query(`SELECT set_config('app.platform', 'on', true)`);
        const all = await app.query<{ id: string }>('SELECT id FROM tenants');
        expect(all.rows.map((r) => r.id)).toEqual(expect.arrayContaining([a.t.id, b.t.id]));
      } finally {
        await app.query('ROLLBACK');
      }
    });

    it("lets a key lookup see only the resolved key's tenant", async () => {
      const rows = await db.tenant(a.t.id, (tx) =>
        tx.query<{ secret_hash: Buffer }>('SELECT secret_hash FROM api_keys WHERE id = $1', [
          a.readKey.id,
        ]),
      );
      const hashHex = rows[0].secret_hash.toString('hex');
      const seen = await db.keyLookup(hashHex, (tx) =>
        tx.query<{ id: string }>('SELECT id FROM tenants'),
      );
      expect(seen.map((r) => r.id)).toEqual([a.t.id]);
      // Read-only: the lookup cannot change the row it sees.
      const renamed = await db.keyLookup(hashHex, (tx) =>
        tx.execute(`UPDATE tenants SET name = 'via key lookup' WHERE id = $1`, [a.t.id]),
      );
      expect(renamed).toBe(0);
      // A hash no key holds shows no tenant at all.
      const unknown = await db.keyLookup('ab'.repeat(32), (tx) =>
        tx.query<{ id: string }>('SELECT id FROM tenants'),
      );
      expect(unknown).toEqual([]);
    });

    it('plans the tenant status read without expanding the key-lookup rule (one cached function)', async () => {
      // The key-lookup branch of the tenants policy is a function call, not a sub-select over
      // api_keys that every status read in the request path would have to plan.
      const plan = await db.tenant(a.t.id, (tx) =>
        tx.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN SELECT status FROM tenants WHERE id = '${a.t.id}'`,
        ),
      );
      const text = plan.map((r) => r['QUERY PLAN']).join('\n');
      expect(text).toContain('quiver_key_tenant()');
      expect(text).not.toMatch(/SubPlan|api_keys/);
    });
  });
});
