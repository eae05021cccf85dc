import { Module } from '@nestjs/common';
import { RequestOrigin } from '@app/gateway/request-origin';
import { AuthController } from './auth.controller';
import { AuthSettingsController } from './auth-settings.controller';
import { SecurityEventsController } from './security-events.controller';
import { SessionsService } from './sessions.service';
import { SigningKeysService } from './signing-keys.service';
import { PlatformUsersController, UsersController } from './users.controller';
import { UsersService } from './users.service';

/** People: users and roles, sessions (local login, JWT access tokens, rotating refresh tokens). */
@Module({
  controllers: [
    AuthController,
    AuthSettingsController,
    UsersController,
    PlatformUsersController,
    SecurityEventsController,
  ],
  providers: [SigningKeysService, SessionsService, UsersService, RequestOrigin],
  exports: [SessionsService, SigningKeysService],
})
export class AuthModule {}
