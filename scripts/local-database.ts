import { Client } from 'pg';

/**
 * Throws unless `name` is a plain lower-case PostgreSQL identifier: database names here are spliced
 * into SQL (CREATE DATABASE, grants) and URLs, so only these are accepted.
 */
export function assertDatabaseName(name: string, what = 'database name'): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`${what} "${name}" must match [a-z_][a-z0-9_]{0,62}`);
  }
}

/**
 * A fresh database with the two roles of a real deployment, on a cluster where we are superuser:
 * quiver_owner (owns the database; migrations run as it) and quiver_app (the app's login: no
 * superuser, no BYPASSRLS, owns nothing). Roles are cluster-wide, created once and never dropped.
 * pgvector is not a trusted extension, so the superuser creates it for the owner's migrations.
 * Used by the e2e setup and by the benchmark.
 */
export async function recreateDatabaseWithRoles(adminUrl: string, name: string): Promise<void> {
  assertDatabaseName(name);
  await dropDatabase(adminUrl, name);
  await withClient(adminUrl, async (admin) => {
    await admin.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'quiver_owner') THEN
          CREATE ROLE quiver_owner LOGIN PASSWORD 'quiver_owner' NOSUPERUSER NOBYPASSRLS;
        END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'quiver_app') THEN
          CREATE ROLE quiver_app LOGIN PASSWORD 'quiver_app' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        END IF;
      END $$`);
    await admin.query(`CREATE DATABASE "${name}" OWNER quiver_owner`);
  });
  await withClient(databaseUrl(adminUrl, name), (c) =>
    c.query('CREATE EXTENSION IF NOT EXISTS vector'),
  );
}

/** The login of the bench's tenant-context baseline route (src/bench-support). */
export const BENCH_BASELINE_ROLE = 'quiver_bench_baseline';

/**
 * Lets the bench's baseline route read `name`'s collections without tenant context: a login with
 * BYPASSRLS (so row-level security does not hide the rows) and nothing but SELECT on collections,
 * granted after the migrations made the table. The role is cluster-wide, created once. Returns the
 * role's URL for BENCH_BASELINE_DATABASE_URL. Only the bench and its test use it; no deployment has it.
 */
export async function grantBenchBaseline(adminUrl: string, name: string): Promise<string> {
  assertDatabaseName(name);
  await withClient(adminUrl, (admin) =>
    admin.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${BENCH_BASELINE_ROLE}') THEN
          CREATE ROLE ${BENCH_BASELINE_ROLE} LOGIN PASSWORD '${BENCH_BASELINE_ROLE}' NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE;
        END IF;
      END $$`),
  );
  await withClient(databaseUrl(adminUrl, name), (c) =>
    c.query(`GRANT SELECT ON collections TO ${BENCH_BASELINE_ROLE}`),
  );
  return roleUrl(adminUrl, name, BENCH_BASELINE_ROLE);
}

/**
 * The URL of database `name` on the admin URL's cluster as one of the local roles created here
 * (quiver_owner, quiver_app, quiver_bench_baseline), whose password is its name.
 */
export function roleUrl(adminUrl: string, name: string, role: string): string {
  const url = new URL(databaseUrl(adminUrl, name));
  url.username = role;
  url.password = role;
  return url.toString();
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, async (admin) => {
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [name],
    );
    await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
  });
}

/** The same server URL, pointing at another database. */
export function databaseUrl(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
