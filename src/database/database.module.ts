import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { AppConfig } from '@app/config/app-config';
import { dataSourceOptions } from './data-source-options';
import { Db } from './db';
import { EmbeddedPostgres } from './embedded-postgres';
import { runMigrations } from './migrations-runner';

export const DATABASE_CONNECTION = Symbol('DATABASE_CONNECTION');

/** What the database layer opened at boot, kept so it can be closed at shutdown. */
export interface DatabaseConnection {
  dataSource: DataSource;
  pool: Pool;
  embedded?: EmbeddedPostgres;
  description: string;
}

export async function openDatabase(config: AppConfig): Promise<DatabaseConnection> {
  let embedded: EmbeddedPostgres | undefined;
  let appUrl: string;
  let ownerUrl: string;
  let poolSize = config.env.DATABASE_POOL_SIZE;
  if (config.databaseMode === 'embedded') {
    embedded = await EmbeddedPostgres.start(config.embeddedDataDir);
    appUrl = ownerUrl = embedded.url;
    poolSize = 1;
  } else {
    appUrl = config.env.DATABASE_URL!;
    ownerUrl = config.env.DATABASE_OWNER_URL ?? appUrl;
  }
  try {
    if (embedded || config.env.MIGRATIONS_RUN) await runMigrations(ownerUrl, !embedded);
    const dataSource = new DataSource(
      dataSourceOptions(appUrl, poolSize, config.env.DATABASE_IDLE_TIMEOUT_MS),
    );
    await dataSource.initialize();
    const pool = (dataSource.driver as PostgresDriver).master as Pool;
    const description = embedded
      ? `embedded PGlite + pgvector in ${config.embeddedDataDir}`
      : `PostgreSQL at ${redactUrl(appUrl)}`;
    return { dataSource, pool, embedded, description };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}

function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

@Global()
@Module({
  providers: [
    { provide: DATABASE_CONNECTION, inject: [AppConfig], useFactory: openDatabase },
    {
      provide: Db,
      inject: [DATABASE_CONNECTION, AppConfig],
      useFactory: (c: DatabaseConnection, config: AppConfig) =>
        new Db(c.pool, {
          // PGlite's one backend outlives the pool's connections, and its statements with it.
          preparedStatements: config.env.DATABASE_PREPARED_STATEMENTS && !c.embedded,
        }),
    },
  ],
  exports: [Db, DATABASE_CONNECTION],
})
export class DatabaseModule implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');

  constructor(@Inject(DATABASE_CONNECTION) private readonly connection: DatabaseConnection) {}

  async onApplicationShutdown(): Promise<void> {
    await this.connection.dataSource
      .destroy()
      .catch((err: Error) => this.logger.error(err.message));
    await this.connection.embedded?.stop();
  }
}
