import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { AppConfig } from '@app/config/app-config';
import { AuthErrorCode, authError } from '../auth.errors';
import { LoginStateStore } from '../login-state.store';
import { SsoConnectionsService } from '../sso/sso-connections.service';
import type {
  ExternalIdentity,
  RedirectLogin,
  RedirectLoginStart,
  SsoConnection,
  SsoTenant,
} from '../sso/sso-kinds';
import { SsoLoginService } from '../sso/sso-login.service';
import type { OidcConfig } from './oidc-kind';

const LOGIN_TTL_MS = 10 * 60_000;
const DISCOVERY_TTL_MS = 5 * 60_000;

interface PendingLogin {
  tenantId: string;
  connectionId: string;
  state: string;
  nonce: string;
  verifier: string;
  /** The issuer the flow started with: the callback must come from the same one (mix-up defence). */
  issuer: string;
  redirect: string;
}

/**
 * OpenID Connect login for a tenant's connection, with openid-client: discovery, authorization code
 * with PKCE (S256), state and nonce bound to the browser's login cookie and kept server-side for
 * single use, the issuer pinned from start to callback (RFC 9207 `iss` checked by the library when the
 * provider sends it), the ID-token algorithm pinned per connection, userinfo, then just-in-time
 * provisioning with the group -> role mapping applied at every login.
 */
@Injectable()
export class OidcLoginService implements RedirectLogin {
  private readonly logger = new Logger('OidcLogin');
  private readonly allowHttp: boolean;
  private readonly discovered = new Map<
    string,
    { at: number; config: Promise<client.Configuration> }
  >();

  constructor(
    private readonly login: SsoLoginService,
    private readonly connections: SsoConnectionsService,
    private readonly store: LoginStateStore,
    config: AppConfig,
  ) {
    this.allowHttp = config.env.SSO_ALLOW_HTTP_ISSUERS;
  }

  /** Begins a login (the connection is resolved and the redirect checked by the caller). */
  async start(
    tenant: SsoTenant,
    connection: SsoConnection,
    redirect: string,
  ): Promise<RedirectLoginStart> {
    const slug = tenant.slug;
    const connectionId = connection.id;
    const config = await this.discover(connection as SsoConnection<OidcConfig>);
    const pending: PendingLogin = {
      tenantId: tenant.id,
      connectionId,
      state: client.randomState(),
      nonce: client.randomNonce(),
      verifier: client.randomPKCECodeVerifier(),
      issuer: config.serverMetadata().issuer,
      redirect,
    };
    const loginId = randomBytes(32).toString('base64url');
    await this.store.put(`oidc:${loginId}`, pending, LOGIN_TTL_MS);
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.connections.callbackUrl(slug, connectionId),
      scope: 'openid email profile',
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, loginId };
  }

  /** Completes the login; returns the URL (the connection's redirect with a one-time code). */
  async callback(
    slug: string,
    connectionId: string,
    query: string,
    loginId: string | undefined,
    ip: string,
  ): Promise<string> {
    const pending = loginId ? await this.store.take<PendingLogin>(`oidc:${loginId}`) : undefined;
    const { tenant, connection } = await this.login.resolve<OidcConfig>(slug, connectionId, 'oidc');
    if (!pending || pending.tenantId !== tenant.id || pending.connectionId !== connectionId) {
      await this.login.fail(tenant.id, connection, ip, 'login_session_invalid');
      throw authError(
        AuthErrorCode.LoginSessionInvalid,
        'This callback matches no login started from this browser; start again.',
      );
    }
    let claims: Record<string, unknown>;
    try {
      const config = await this.discover(connection);
      if (config.serverMetadata().issuer !== pending.issuer) throw new Error('issuer changed');
      const currentUrl = new URL(`${this.connections.callbackUrl(slug, connectionId)}?${query}`);
      const tokens = await client.authorizationCodeGrant(config, currentUrl, {
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        pkceCodeVerifier: pending.verifier,
        idTokenExpected: true,
      });
      const idClaims = tokens.claims();
      if (!idClaims) throw new Error('no ID token');
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
      claims = { ...idClaims, ...userinfo };
    } catch (err) {
      const reason = err instanceof Error ? err.message.slice(0, 200) : 'refused';
      this.logger.warn({ err, connectionId }, 'OIDC callback refused');
      await this.login.fail(tenant.id, connection, ip, 'idp_response_refused', reason);
      throw authError(AuthErrorCode.SsoFailed, 'The identity provider response was refused.');
    }
    const pair = await this.login.finish(tenant.id, connection, identityOf(connection, claims), ip);
    return this.login.handOff(tenant.id, pair, pending.redirect);
  }

  private discover(connection: SsoConnection<OidcConfig>): Promise<client.Configuration> {
    const key = `${connection.id}:${JSON.stringify(connection.config)}:${connection.secret ?? ''}`;
    const hit = this.discovered.get(key);
    if (hit && Date.now() - hit.at < DISCOVERY_TTL_MS) return hit.config;
    const { issuer, clientId, idTokenAlg } = connection.config;
    const insecure = this.allowHttp && issuer.startsWith('http://');
    const config = client
      .discovery(
        new URL(issuer),
        clientId,
        { id_token_signed_response_alg: idTokenAlg },
        connection.secret ? client.ClientSecretBasic(connection.secret) : client.None(),
        {
          // The ID token's signature is verified against the provider's JWKS too, not only trusted
          // because it came over the back channel (OIDC Core 3.1.3.7 allows skipping that; we do not).
          execute: [
            client.enableNonRepudiationChecks,
            ...(insecure ? [client.allowInsecureRequests] : []),
          ],
          timeout: 10,
        },
      )
      .catch((err: unknown) => {
        this.discovered.delete(key);
        throw err;
      });
    if (this.discovered.size > 1000) this.discovered.clear();
    this.discovered.set(key, { at: Date.now(), config });
    return config;
  }
}

/** The person in the ID token and userinfo claims, in the terms every kind of login shares. */
export function identityOf(
  connection: SsoConnection<OidcConfig>,
  claims: Record<string, unknown>,
): ExternalIdentity {
  const raw = claims[connection.config.groupsClaim];
  return {
    subject: String(claims.sub),
    email: typeof claims.email === 'string' ? claims.email : null,
    emailVerified: claims.email_verified === true,
    displayName: typeof claims.name === 'string' ? claims.name : null,
    groups: Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string') : [],
  };
}
