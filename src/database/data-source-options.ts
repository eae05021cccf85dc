import * as path from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';

/**
 * Options shared by the app, the migration runner and the TypeORM CLI. Never `synchronize`: the
 * schema changes only through migrations. `installExtensions: false` because the vector extension is
 * created by a migration, as the owner.
 */
export function dataSourceOptions(
  url: string,
  poolSize: number,
  idleTimeoutMs?: number,
): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: [path.join(__dirname, 'migrations', '*.{ts,js}')],
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    installExtensions: false,
    logging: ['error'],
    poolSize,
    extra: {
      application_name: 'quiver',
      // pg closes a connection idle this long (its default: 10 s). 0: never.
      ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMillis: idleTimeoutMs }),
    },
  };
}
