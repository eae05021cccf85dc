import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { AuthModule } from '@app/auth/auth.module';
import { AppConfig } from '@app/config/app-config';
import { KeysModule } from '@app/keys/keys.module';
import { PlatformModule } from '@app/platform/platform.module';
import { AuthGuard } from './auth.guard';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { RateLimiter } from './rate-limit/rate-limiter';
import { TenantThrottlerGuard } from './rate-limit/tenant-throttler.guard';
import { RequestOrigin } from './request-origin';
import { SecurityEventsService } from './security-events.service';
import { SignatureVerifier } from './signature-verifier';
import { WhoAmIController } from './whoami.controller';

/**
 * What every request passes before a controller: authentication, tenant state, scopes, then rate
 * limits. The two global guards run in the order they are listed here.
 */
@Module({
  imports: [
    AuthModule,
    KeysModule,
    PlatformModule,
    RateLimitModule,
    ThrottlerModule.forRootAsync({
      imports: [RateLimitModule],
      inject: [RateLimiter, AppConfig],
      useFactory: (limiter: RateLimiter, config: AppConfig) => ({
        // Platform admin routes, per client address; tenant routes follow the tenant's policy.
        throttlers: [
          { name: 'default', ttl: 60_000, limit: config.env.RATE_LIMIT_PLATFORM_PER_MINUTE },
        ],
        storage: limiter,
      }),
    }),
  ],
  controllers: [WhoAmIController],
  providers: [
    SecurityEventsService,
    RequestOrigin,
    SignatureVerifier,
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: TenantThrottlerGuard },
  ],
})
export class GatewayModule {}
