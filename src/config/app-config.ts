import * as path from 'node:path';
import { Env, parseEnv } from './config.schema';

export type DatabaseMode = 'external' | 'embedded';

/** The typed configuration object every module reads. Built once, at boot, from the environment. */
export class AppConfig {
  readonly env: Env;
  readonly databaseMode: DatabaseMode;
  readonly embeddedDataDir: string;

  constructor(env: Env) {
    this.env = env;
    this.databaseMode = env.DATABASE_URL ? 'external' : 'embedded';
    this.embeddedDataDir = path.resolve(env.EMBEDDED_DATA_DIR);
  }

  static fromEnvironment(source: NodeJS.ProcessEnv = process.env): AppConfig {
    return new AppConfig(parseEnv(source));
  }

  get redisUrl(): string | undefined {
    return this.env.REDIS_URL;
  }

  get isProduction(): boolean {
    return this.env.NODE_ENV === 'production';
  }
}
