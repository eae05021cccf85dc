import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoLogger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { exitIfShutdownHangs } from './common/shutdown';
import { AppConfig } from './config/app-config';
import { ConfigError } from './config/config.schema';
import { JobsService } from './jobs/jobs.service';
import { watchForStalls } from './runtime/stall-watchdog';
import { applyV8Flags } from './runtime/v8-flags';

/** The worker entry point: the same module graph, no HTTP, and the only place BullMQ workers run. */
async function bootstrap(): Promise<void> {
  applyV8Flags();
  const config = AppConfig.fromEnvironment();
  watchForStalls(config, 'Worker');
  if (!config.redisUrl) {
    throw new ConfigError(
      'Invalid configuration:\n  REDIS_URL: the worker needs Redis (without it the api runs jobs in-process)',
    );
  }
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    bufferLogs: true,
  });
  app.useLogger(app.get(PinoLogger));
  app.enableShutdownHooks();
  exitIfShutdownHangs(config.env.SHUTDOWN_TIMEOUT_MS);
  app.get(JobsService).startWorker();
  new Logger('Worker').log('worker started: consuming jobs from Redis');
}

bootstrap().catch((err: unknown) => {
  process.stderr.write(
    `${err instanceof Error ? (err instanceof ConfigError ? err.message : (err.stack ?? err.message)) : String(err)}\n`,
  );
  process.exit(1);
});
