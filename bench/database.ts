import { Client } from 'pg';
import { runMigrations } from '@app/database/migrations-runner';
import {
  assertDatabaseName,
  BENCH_BASELINE_ROLE,
  databaseUrl,
  dropDatabase,
  grantBenchBaseline,
  recreateDatabaseWithRoles,
  roleUrl,
} from '../scripts/local-database';
import { APP_ROLE } from '@app/database/db';

/** The local cluster's superuser connection (trust auth), as the e2e setup uses it. */
export const PG_ADMIN_URL =
  process.env.QUIVER_BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  name: string;
  adminUrl: string;
  ownerUrl: string;
  appUrl: string;
  /** The tenant-context baseline route's login (BENCH_BASELINE_DATABASE_URL). */
  baselineUrl: string;
}

export function benchDatabase(name: string): BenchDatabase {
  assertDatabaseName(name);
  return {
    name,
    adminUrl: PG_ADMIN_URL,
    // On the admin URL's cluster, so QUIVER_BENCH_ADMIN_URL moves every login at once.
    ownerUrl: roleUrl(PG_ADMIN_URL, name, 'quiver_owner'),
    appUrl: roleUrl(PG_ADMIN_URL, name, APP_ROLE),
    baselineUrl: roleUrl(PG_ADMIN_URL, name, BENCH_BASELINE_ROLE),
  };
}

/**
 * A fresh database with the deployment's two roles (scripts/local-database.ts), migrated here (the
 * server's own MIGRATIONS_RUN then finds nothing to do) so the baseline route's role can be granted
 * SELECT on collections before the server starts.
 */
export async function createBenchDatabase(db: BenchDatabase): Promise<void> {
  await recreateDatabaseWithRoles(db.adminUrl, db.name);
  await runMigrations(db.ownerUrl, true);
  await grantBenchBaseline(db.adminUrl, db.name);
}

export async function dropBenchDatabase(db: BenchDatabase): Promise<void> {
  await dropDatabase(db.adminUrl, db.name);
}

/**
 * After seeding: VACUUM ANALYZE as the superuser, the steady state autovacuum reaches on its own a
 * minute or so later, so the measured runs neither race autovacuum nor plan without statistics.
 */
export async function vacuumAnalyze(db: BenchDatabase): Promise<void> {
  await withClient(databaseUrl(db.adminUrl, db.name), (c) => c.query('VACUUM ANALYZE'));
}

export async function databaseSize(db: BenchDatabase): Promise<number> {
  return withClient(db.adminUrl, async (c) => {
    const res = await c.query<{ size: string }>(`SELECT pg_database_size($1)::text AS size`, [
      db.name,
    ]);
    return Number(res.rows[0]?.size ?? 0);
  });
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, application_name: 'quiver-bench' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** How a collection's data sits against PostgreSQL's buffer cache: what the search rows depend on. */
export interface CollectionStorage {
  /** shared_buffers, in bytes. */
  sharedBuffersBytes: number;
  /** The collection's partition (heap and TOAST). */
  heapBytes: number;
  /** Its HNSW index(es). */
  hnswBytes: number;
}

export async function collectionStorage(
  db: BenchDatabase,
  collectionId: string,
): Promise<CollectionStorage> {
  return withClient(databaseUrl(db.adminUrl, db.name), async (c) => {
    // The partition holding the collection's rows, found by a row's tableoid rather than by name.
    const res = await c.query<{ shared: string; heap: string | null; hnsw: string | null }>(
      `WITH part AS (SELECT tableoid AS oid FROM vectors WHERE collection_id = $1 LIMIT 1)
       SELECT (SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'shared_buffers')::text AS shared,
              (SELECT pg_table_size(oid) FROM part)::text AS heap,
              (SELECT sum(pg_relation_size(i.indexrelid)) FROM pg_index i
                 JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
                WHERE i.indrelid = (SELECT oid FROM part) AND am.amname = 'hnsw')::text AS hnsw`,
      [collectionId],
    );
    const row = res.rows[0];
    return {
      sharedBuffersBytes: Number(row?.shared ?? 0),
      heapBytes: Number(row?.heap ?? 0),
      hnswBytes: Number(row?.hnsw ?? 0),
    };
  });
}
