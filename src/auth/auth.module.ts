import { Module } from '@nestjs/common';
import { RequestOrigin } from '@app/gateway/request-origin';
import { AuthController } from './auth.controller';
import { AuthSettingsController } from './auth-settings.controller';
import { LdapAuthenticator } from './ldap/ldap-authenticator';
import { LdapLoginService } from './ldap/ldap-login.service';
import { LoginStateStore } from './login-state.store';
import { OidcAuthenticator } from './oidc/oidc-authenticator';
import { OidcLoginService } from './oidc/oidc-login.service';
import { SamlLoginService } from './saml/saml-login.service';
import { SamlStateStore } from './saml/saml-state.store';
import { SecurityEventsController } from './security-events.controller';
import { SsoConnectionsController, SsoLoginController } from './sso/sso.controller';
import { SsoAddressGuard } from './sso/sso-address-guard';
import { SsoConnectionsService } from './sso/sso-connections.service';
import { SsoLoginService } from './sso/sso-login.service';
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
    SsoLoginController,
    SsoConnectionsController,
  ],
  providers: [
    SigningKeysService,
    SessionsService,
    UsersService,
    RequestOrigin,
    LoginStateStore,
    SsoConnectionsService,
    SsoAddressGuard,
    SsoLoginService,
    OidcAuthenticator,
    OidcLoginService,
    SamlStateStore,
    SamlLoginService,
    LdapAuthenticator,
    LdapLoginService,
  ],
  exports: [SessionsService, SigningKeysService],
})
export class AuthModule {}
