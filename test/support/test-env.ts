/**
 * Where the e2e suites find their services. DATABASE_URL / REDIS_URL win when set (for example a
 * docker compose stack); otherwise the local PostgreSQL and Redis that scripts/provision.sh brings up.
 */
export const TEST_DB = process.env.QUIVER_TEST_DB ?? 'quiver_test';
export const PG_ADMIN_URL =
  process.env.QUIVER_TEST_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function ownerUrl(): string {
  return (
    process.env.DATABASE_OWNER_URL ??
    process.env.DATABASE_URL ??
    `postgres://quiver_owner:quiver_owner@127.0.0.1:5432/${TEST_DB}`
  );
}

export function appUrl(): string {
  return process.env.DATABASE_URL ?? `postgres://quiver_app:quiver_app@127.0.0.1:5432/${TEST_DB}`;
}

export function redisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}
