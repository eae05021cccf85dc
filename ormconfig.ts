/**
 * The DataSource the TypeORM CLI uses (npm run migration:generate|run|revert). It connects as the
 * table owner: DATABASE_OWNER_URL, else DATABASE_URL.
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './src/database/data-source-options';

const url = process.env.DATABASE_OWNER_URL || process.env.DATABASE_URL;
if (!url) {
  throw new Error(
    'Set DATABASE_OWNER_URL (or DATABASE_URL) to the owner connection to run the TypeORM CLI',
  );
}

export default new DataSource(dataSourceOptions(url, 2));
