import type { Client } from 'pg';
import type { HttpResponse, TestApp, TestTenant } from './harness';

/**
 * Shared fixtures of the cross-tenant isolation suites: two tenants with look-alike data, snapshots
 * of a tenant's state taken through its own key, and catalogue queries that find every tenant-owned
 * table (partitions included) instead of trusting a hand-kept list.
 */

/** The exact predicate DESIGN.md prescribes, as pg_get_expr prints it. */
export const TENANT_PREDICATE_SQL =
  "(tenant_id = (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid)";

export const DIM = 3;

/** What a seeded tenant holds. Both tenants get a collection named `shared`, each its own rows. */
export interface Seeded {
  t: TestTenant;
  label: string;
  /** Same name in both tenants: the name alone must never reach the other tenant's rows. */
  shared: { id: string; name: string; vectorIds: string[] };
  /** A name only this tenant has. */
  own: { id: string; name: string; vectorIds: string[] };
  /** A second key (vectors:read) besides the harness's tenant:admin key. */
  readKey: { id: string; secret: string };
}

export const SHARED_NAME = 'shared';

/** A unit-ish vector pointing mostly along axis `i`, so searches have a clear winner. */
function vec(i: number, jitter: number): number[] {
  const v = [0.05, 0.05, 0.05];
  v[i % DIM] = 1 + jitter;
  return v;
}

/**
 * A tenant with two collections and vectors whose ids and metadata name the tenant, so any row in
 * any response says whose it is. `sharedCount` differs between tenants so counts tell them apart.
 */
export async function seedTenant(
  api: TestApp,
  label: string,
  sharedCount: number,
): Promise<Seeded> {
  const t = await api.createTenant(`iso-${label}`);
  // These suites fire admin calls back to back (every endpoint, for several ids, with state reads
  // around them): on a fast machine that outruns even the enterprise plan's 50 admin calls a second,
  // and a 429 would hide the 404 under test. Rate limits are test/rate-limits.e2e-spec.ts's subject.
  const lifted = [{ limit: 1_000_000, window: '1s' }];
  const limits = await api.putSettings(t.id, { rateLimits: { tenant: lifted, admin: lifted } });
  if (limits.status !== 200) throw new Error(`rate limit settings: ${limits.status}`);
  const shared = await t.collection(SHARED_NAME, DIM);
  const ownName = `${label}-only-${t.slug.slice(-8)}`;
  const own = await t.collection(ownName, DIM);
  const sharedIds = Array.from({ length: sharedCount }, (_, i) => `${t.id}:s${i}`);
  const ownIds = [`${t.id}:o0`, `${t.id}:o1`];
  await t.upsert(
    SHARED_NAME,
    sharedIds.map((id, i) => ({
      id,
      values: vec(i, i / 10),
      metadata: { tenant: t.id, label, i },
    })),
  );
  await t.upsert(
    ownName,
    ownIds.map((id, i) => ({ id, values: vec(i, 0), metadata: { tenant: t.id, label } })),
  );
  const readKey = await t.key(['vectors:read']);
  return {
    t,
    label,
    shared: { id: shared.id, name: SHARED_NAME, vectorIds: sharedIds },
    own: { id: own.id, name: ownName, vectorIds: ownIds },
    readKey,
  };
}

/**
 * Everything a tenant can observe about itself, read through its own admin key. `lastUsedAt` is left
 * out: using a key legitimately changes it.
 */
export async function snapshotViaApi(s: Seeded): Promise<unknown> {
  const ok = <T>(r: HttpResponse<T>, what: string): T => {
    if (r.status !== 200) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const { t } = s;
  type Items = { items: Array<Record<string, unknown>> };
  const collections = ok<Items>(await t.request('GET', '/collections'), 'list collections');
  const perCollection: Record<string, unknown> = {};
  for (const c of [s.shared, s.own]) {
    const name = encodeURIComponent(c.name);
    perCollection[c.name] = {
      view: ok(await t.request('GET', `/collections/${name}`), `get ${c.name}`),
      count: ok(await t.request('POST', `/collections/${name}/vectors/count`, {}), 'count'),
      vectors: ok(
        await t.request('POST', `/collections/${name}/vectors/fetch`, { ids: c.vectorIds }),
        'fetch',
      ),
    };
  }
  const keys = ok<Items>(await t.request('GET', '/keys'), 'list keys');
  return {
    collections: collections.items,
    perCollection,
    keys: keys.items.map(({ lastUsedAt: _ignored, ...k }) => k),
  };
}

/** A tenant-owned table as the catalogue describes it. */
export interface TenantTable {
  name: string;
  parent: string | null;
  rowSecurity: boolean;
  forceRowSecurity: boolean;
  owner: string;
}

/** Every table (plain, partitioned or partition) in schema public with a tenant_id column. */
export async function tenantTablesFromCatalogue(c: Client): Promise<TenantTable[]> {
  const r = await c.query<TenantTable>(`
    SELECT c.relname AS name,
           (SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
             WHERE i.inhrelid = c.oid) AS parent,
           c.relrowsecurity AS "rowSecurity",
           c.relforcerowsecurity AS "forceRowSecurity",
           pg_get_userbyid(c.relowner) AS owner
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
     ORDER BY c.relname`);
  return r.rows;
}

/**
 * Row counts of one tenant in every tenant-owned table, partitions included. The owner is itself
 * subject to the forced policies, so it counts inside the tenant's context: the count is exactly the
 * rows whose tenant_id is that tenant (a plain owner query would see nothing and prove nothing).
 */
export async function tenantRowCounts(
  owner: Client,
  tenantId: string,
): Promise<Record<string, number>> {
  const tables = await tenantTablesFromCatalogue(owner);
  const counts: Record<string, number> = {};
  await owner.query('BEGIN');
  try {
    await owner.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
    for (const { name } of tables) {
      const r = await owner.query<{ n: string }>(
        `SELECT count(*) AS n FROM "${name}" WHERE tenant_id = $1`,
        [tenantId],
      );
      const n = Number(r.rows[0].n);
      if (n > 0) counts[name] = n;
    }
  } finally {
    await owner.query('ROLLBACK');
  }
  return counts;
}

/** The partition that holds a collection's vectors. */
export function partitionName(collectionId: string): string {
  return `vectors_c_${collectionId.replace(/-/g, '')}`;
}

/**
 * Runs fn on a raw connection inside a transaction with app.tenant_id set (or not, when null), and
 * always rolls back: the suites probe what the database allows without leaving anything behind.
 */
export async function asTenant<T>(
  c: Client,
  tenantId: string | null,
  fn: () => Promise<T>,
): Promise<T> {
  await c.query('BEGIN');
  try {
    if (tenantId !== null)
      await c.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
    return await fn();
  } finally {
    await c.query('ROLLBACK');
  }
}

export interface PgError {
  code?: string;
  message: string;
  constraint?: string;
}

/** The error a statement fails with; fails the test if it succeeds. */
export async function pgErrorOf(p: Promise<unknown>): Promise<PgError> {
  try {
    await p;
  } catch (err) {
    return err as PgError;
  }
  throw new Error('expected the statement to be rejected, but it succeeded');
}

/** Collects every string in a JSON value, to prove a response names nothing of another tenant. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value) ?? '';
}
