import { Client } from 'pg';

/** The local cluster's superuser connection (trust auth), as the e2e setup uses it. */
export const PG_ADMIN_URL =
  process.env.QUIVER_BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  name: string;
  adminUrl: string;
  ownerUrl: string;
  appUrl: string;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export function benchDatabase(name: string): BenchDatabase {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name: ${name}`);
  return {
    name,
    adminUrl: PG_ADMIN_URL,
    ownerUrl: `postgres://quiver_owner:quiver_owner@127.0.0.1:5432/${name}`,
    appUrl: `postgres://quiver_app:quiver_app@127.0.0.1:5432/${name}`,
  };
}

/**
 * A fresh database with the two roles of a real deployment, made the way test/support/global-setup.ts
 * makes the e2e database: the roles (created once per cluster, never dropped), the database owned by
 * quiver_owner, and pgvector created by the superuser. The app migrates it at start (MIGRATIONS_RUN).
 */
export async function createBenchDatabase(db: BenchDatabase): Promise<void> {
  await dropBenchDatabase(db);
  await withClient(db.adminUrl, async (admin) => {
    await admin.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'quiver_owner') THEN
          CREATE ROLE quiver_owner LOGIN PASSWORD 'quiver_owner' NOSUPERUSER NOBYPASSRLS;
        END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'quiver_app') THEN
          CREATE ROLE quiver_app LOGIN PASSWORD 'quiver_app' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        END IF;
      END $$`);
    await admin.query(`CREATE DATABASE "${db.name}" OWNER quiver_owner`);
  });
  // pgvector is not a trusted extension: a superuser creates it, the owner's migrations find it.
  await withClient(withDatabase(db.adminUrl, db.name), (c) =>
    c.query('CREATE EXTENSION IF NOT EXISTS vector'),
  );
}

export async function dropBenchDatabase(db: BenchDatabase): Promise<void> {
  await withClient(db.adminUrl, async (admin) => {
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [db.name],
    );
    await admin.query(`DROP DATABASE IF EXISTS "${db.name}"`);
  });
}

/**
 * After seeding: VACUUM ANALYZE as the superuser, the steady state autovacuum reaches on its own a
 * minute or so later, so the measured runs neither race autovacuum nor plan without statistics.
 */
export async function vacuumAnalyze(db: BenchDatabase): Promise<void> {
  await withClient(withDatabase(db.adminUrl, db.name), (c) => c.query('VACUUM ANALYZE'));
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
