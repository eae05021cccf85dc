import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '@app/database/data-source-options';
import { runMigrations } from '@app/database/migrations-runner';
import { dropDatabase, recreateDatabaseWithRoles } from '../scripts/local-database';
import { ownerUrl, PG_ADMIN_URL } from './support/test-env';

/** Migrations are the only way the schema changes: they match the entities and they undo cleanly. */
const MIGRATIONS = readdirSync(path.resolve(__dirname, '../src/database/migrations')).filter((f) =>
  f.endsWith('.ts'),
);

describe('migrations', () => {
  it('leave nothing for migration:generate to do (entities and schema agree)', async () => {
    const ds = new DataSource({ ...dataSourceOptions(ownerUrl(), 1), logging: false });
    await ds.initialize();
    try {
      const pending = await ds.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((q) => q.query)).toEqual([]);
    } finally {
      await ds.destroy();
    }
  });

  it('revert to an empty schema and apply again on a scratch database', async () => {
    const name = `quiver_migrations_${process.pid}`;
    await recreateDatabaseWithRoles(PG_ADMIN_URL, name);
    const url = ownerUrl().replace(/\/[^/]*$/, `/${name}`);
    try {
      expect(await runMigrations(url, true)).toHaveLength(MIGRATIONS.length);
      const ds = new DataSource({ ...dataSourceOptions(url, 1), logging: false });
      await ds.initialize();
      for (let i = 0; i < MIGRATIONS.length; i++)
        await ds.undoLastMigration({ transaction: 'each' });
      const [{ n }] = await ds.query<Array<{ n: number }>>(
        `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'typeorm_migrations'`,
      );
      expect(n).toBe(0);
      await ds.destroy();
      expect(await runMigrations(url, true)).toHaveLength(MIGRATIONS.length);
    } finally {
      await dropDatabase(PG_ADMIN_URL, name);
    }
  });
});
