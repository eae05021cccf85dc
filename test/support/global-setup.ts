// globalSetup runs outside jest's module mapper: resolve the @app/@libs aliases from tsconfig.
import 'tsconfig-paths/register';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { generateSecret, hashSecret } from '@libs/api-key';
import { runMigrations } from '@app/database/migrations-runner';
import { recreateDatabaseWithRoles } from '../../scripts/local-database';
import { appUrl, ownerUrl, PG_ADMIN_URL, redisUrl, TEST_DB } from './test-env';

/**
 * Runs once per `jest` run, before the e2e suites: a fresh database with the two roles of a real
 * deployment (owner for migrations, a non-owner app role for requests), migrated, with a platform
 * admin token the suites share. When DATABASE_URL is given, that database is used as it is.
 */
export default async function globalSetup(): Promise<void> {
  const external = Boolean(process.env.DATABASE_URL);
  if (!external) {
    await recreateDatabaseWithRoles(PG_ADMIN_URL, TEST_DB);
    const [app, owner] = [appUrl(), ownerUrl()];
    process.env.DATABASE_URL = app;
    process.env.DATABASE_OWNER_URL = owner;
  }
  process.env.REDIS_URL = redisUrl();
  // Secrets at rest (signing secrets) are encrypted with this; a deployment sets its own.
  process.env.QUIVER_ENCRYPTION_KEY ??= randomBytes(32).toString('base64');
  process.env.QUEUE_PREFIX = `{quiver-test-${TEST_DB}}`;
  await runMigrations(ownerUrl(), true);

  // A platform admin credential for the suites, stored the way bootstrap stores one (hash only).
  const token = generateSecret('qvp', 'test').secret;
  const owner = new Client({ connectionString: ownerUrl() });
  await owner.connect();
  await owner.query(
    `INSERT INTO platform_tokens (id, name, token_hash) VALUES (gen_random_uuid(), 'e2e', $1)`,
    [hashSecret(token)],
  );
  await owner.end();
  process.env.QUIVER_TEST_PLATFORM_TOKEN = token;
}
