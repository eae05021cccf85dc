import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { KeysModule } from '@app/keys/keys.module';
import { PlatformModule } from '@app/platform/platform.module';
import { AuthGuard } from './auth.guard';
import { ReplayCache } from './replay-cache';
import { RequestOrigin } from './request-origin';
import { SecurityEventsService } from './security-events.service';
import { SignatureVerifier } from './signature-verifier';

/** What every request passes before a controller: authentication, tenant state, scopes. */
@Module({
  imports: [KeysModule, PlatformModule],
  providers: [
    SecurityEventsService,
    RequestOrigin,
    ReplayCache,
    SignatureVerifier,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
})
export class GatewayModule {}
