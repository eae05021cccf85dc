import 'reflect-metadata';
import cluster from 'node:cluster';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { exitIfShutdownHangs } from './common/shutdown';
import { answerHeartbeats } from './cluster/heartbeat';
import { runPrimary } from './cluster/primary';
import { AppConfig } from './config/app-config';
import { ConfigError } from './config/config.schema';
import { DATABASE_CONNECTION, DatabaseConnection } from './database/database.module';
import { JobsService } from './jobs/jobs.service';
import { PlatformAuthService } from './platform/platform-auth.service';
import { watchForStalls } from './runtime/stall-watchdog';
import { applyV8Flags, missingStartupFlags } from './runtime/v8-flags';

/**
 * The api entry point: HTTP on PORT. With no REDIS_URL it also runs the jobs in-process. With
 * API_PROCESSES > 1 this process supervises that many workers, each running the same app.
 */
async function bootstrap(): Promise<void> {
  applyV8Flags();
  const config = AppConfig.fromEnvironment();
  const primary = cluster.isPrimary && config.env.API_PROCESSES > 1;
  watchForStalls(config, primary ? 'QuiverPrimary' : 'Quiver');
  if (primary) {
    runPrimary({
      processes: config.env.API_PROCESSES,
      shutdownTimeoutMs: config.env.SHUTDOWN_TIMEOUT_MS,
      logLevel: config.env.LOG_LEVEL,
      stallTimeoutMs: config.env.STALL_TIMEOUT_MS,
    });
    return;
  }
  const app = await createApp(config);
  exitIfShutdownHangs(config.env.SHUTDOWN_TIMEOUT_MS);
  await app.get(PlatformAuthService).bootstrap();
  await app.listen(config.env.PORT, config.env.HOST);
  if (cluster.isWorker) answerHeartbeats();

  const logger = new Logger('Quiver');
  const db = app.get<DatabaseConnection>(DATABASE_CONNECTION);
  const jobs = app.get(JobsService);
  const base = `http://${config.env.HOST === '0.0.0.0' ? 'localhost' : config.env.HOST}:${config.env.PORT}`;
  logger.log(`database: ${db.description}`);
  logger.log(
    jobs.backend === 'bullmq'
      ? `jobs: BullMQ on Redis (run the worker: node dist/src/worker.js)`
      : 'jobs: in-process (no REDIS_URL)',
  );
  // Not in development, where `nest start --watch` restarts the api on every edit.
  const missing = config.env.NODE_ENV === 'production' ? missingStartupFlags() : [];
  if (missing.length > 0) {
    logger.warn(
      `node was started without ${missing.join(' ')} (npm start and the Docker image pass it): ` +
        'the young heap generation starts small, and garbage collection pauses requests more often. ' +
        `Start the api as: node ${missing.join(' ')} dist/src/main.js`,
    );
  }
  logger.log(
    `listening on ${base}: API under ${base}/v1, docs at ${base}/docs, OpenAPI at ${base}/openapi.json`,
  );
}

bootstrap().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(
      `Quiver failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
  process.exit(1);
});
