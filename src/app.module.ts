import { DynamicModule, Module } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { LoggerModule } from 'nestjs-pino';
import { ContextModule } from './common/context/context.module';
import { loggerParams } from './common/logging';
import { BenchBaselineModule } from './bench-support/bench-baseline.controller';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { EventsModule } from './events/events.module';
import { GatewayModule } from './gateway/gateway.module';
import { HealthModule } from './health/health.module';
import { JobsModule } from './jobs/jobs.module';
import { KeysModule } from './keys/keys.module';
import { MetricsModule } from './metrics/metrics.module';
import { PlatformModule } from './platform/platform.module';
import { QuotasModule } from './quotas/quotas.module';
import { RedisModule } from './redis/redis.module';
import { SecretsModule } from './secrets/secrets.module';
import { TenancyModule } from './tenancy/tenancy.module';
import { VectorsModule } from './vectors/vectors.module';

/** The whole module graph. Both entry points (api: main.ts, worker: worker.ts) boot this. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ContextModule,
        LoggerModule.forRootAsync({
          inject: [AppConfig, ClsService],
          useFactory: loggerParams,
        }),
        DatabaseModule,
        RedisModule,
        SecretsModule,
        EventsModule,
        JobsModule,
        MetricsModule,
        PlatformModule,
        QuotasModule,
        KeysModule,
        GatewayModule,
        TenancyModule,
        VectorsModule,
        HealthModule,
        ...(config.env.BENCH_ROUTES ? [BenchBaselineModule] : []),
      ],
    };
  }
}
