import { Logger } from '@nestjs/common';
import { DataSource, MigrationExecutor } from 'typeorm';
import { dataSourceOptions } from './data-source-options';

/**
 * Runs pending migrations as the owner. With a real Postgres several api processes may start at
 * once, so the run is serialised with an advisory lock held on the migration connection.
 */
export async function runMigrations(ownerUrl: string, useAdvisoryLock: boolean): Promise<string[]> {
  const logger = new Logger('Migrations');
  const ds = new DataSource({ ...dataSourceOptions(ownerUrl, 1), logging: false });
  await ds.initialize();
  const runner = ds.createQueryRunner();
  try {
    if (useAdvisoryLock)
      await runner.query(`SELECT pg_advisory_lock(hashtext('quiver:migrations'))`);
    const executor = new MigrationExecutor(ds, runner);
    executor.transaction = 'each';
    const done = await executor.executePendingMigrations();
    const names = done.map((m) => m.name);
    logger.log(names.length ? `applied ${names.join(', ')}` : 'schema up to date');
    return names;
  } finally {
    if (useAdvisoryLock)
      await runner
        .query(`SELECT pg_advisory_unlock(hashtext('quiver:migrations'))`)
        .catch(() => undefined);
    await runner.release();
    await ds.destroy();
  }
}
