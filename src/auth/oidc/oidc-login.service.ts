import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { addressRefusalIn } from '@libs/net';
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
import { OidcAuthenticator, type OidcFlowState } from './oidc-authenticator';
import type { OidcConfig } from './oidc-kind';

const LOGIN_TTL_MS = 10 * 60_000;

/**
 * A login in progress, kept server-side (single use) under the id the browser's HttpOnly cookie
 * carries. `state`, `nonce` and `verifier` are openid-client's Strategy session for this login.
 */
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
 * OpenID Connect login for a tenant's connection. The protocol runs on openid-client's passport
 * Strategy (OidcAuthenticator): discovery, authorization code with PKCE (S256), state and nonce bound to
 * the browser's login cookie and kept server-side for single use, the issuer pinned from start to
 * callback (RFC 9207 `iss` checked by the library when the provider sends it), the ID-token algorithm
 * pinned per connection, userinfo. Here: the login record, security events, then just-in-time
 * provisioning with the group -> role mapping applied at every login.
 */
@Injectable()
export class OidcLoginService implements RedirectLogin {
  private readonly logger = new Logger('OidcLogin');

  constructor(
    private readonly login: SsoLoginService,
    private readonly connections: SsoConnectionsService,
    private readonly store: LoginStateStore,
    private readonly oidc: OidcAuthenticator,
  ) {}

  /** Begins a login (the connection is resolved and the redirect checked by the caller). */
  async start(
    tenant: SsoTenant,
    connection: SsoConnection,
    redirect: string,
    ip: string,
  ): Promise<RedirectLoginStart> {
    const connectionId = connection.id;
    let begun: Awaited<ReturnType<OidcAuthenticator['begin']>>;
    try {
      begun = await this.oidc.begin(
        connection as SsoConnection<OidcConfig>,
        this.connections.callbackUrl(tenant.slug, connectionId),
      );
    } catch (err) {
      await this.refuseAddress(tenant.id, connection, ip, err);
      // Discovery failed (provider down, bad issuer): the provider's fault, not ours, and not a 500.
      this.logger.warn({ err, connectionId }, 'OIDC discovery failed');
      throw authError(
        AuthErrorCode.ProviderUnavailable,
        "The identity provider's configuration could not be read; try again later.",
      );
    }
    const { url, issuer, flow } = begun;
    const pending: PendingLogin = {
      tenantId: tenant.id,
      connectionId,
      state: flow.state,
      nonce: flow.nonce,
      verifier: flow.code_verifier,
      issuer,
      redirect,
    };
    const loginId = randomBytes(32).toString('base64url');
    await this.store.put(`oidc:${loginId}`, pending, LOGIN_TTL_MS);
    return { url, loginId };
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
      const flow: OidcFlowState = {
        code_verifier: pending.verifier,
        state: pending.state,
        nonce: pending.nonce,
      };
      claims = await this.oidc.complete(
        connection,
        pending.issuer,
        flow,
        this.connections.callbackUrl(slug, connectionId),
        query,
      );
    } catch (err) {
      await this.refuseAddress(tenant.id, connection, ip, err);
      const reason = err instanceof Error ? err.message.slice(0, 200) : 'refused';
      this.logger.warn({ err, connectionId }, 'OIDC callback refused');
      await this.login.fail(tenant.id, connection, ip, 'idp_response_refused', reason);
      throw authError(AuthErrorCode.SsoFailed, 'The identity provider response was refused.');
    }
    const pair = await this.login.finish(tenant.id, connection, identityOf(connection, claims), ip);
    return this.login.handOff(tenant.id, pair, pending.redirect);
  }

  /**
   * A request the SSRF policy refused (the issuer, or an endpoint its discovery names, is a private
   * address): recorded, and answered like an unreachable provider, since the person is not at fault.
   */
  private async refuseAddress(
    tenantId: string,
    connection: SsoConnection,
    ip: string,
    err: unknown,
  ): Promise<void> {
    const refusal = addressRefusalIn(err);
    if (!refusal) return;
    this.logger.warn(
      { connectionId: connection.id, address: refusal.address, range: refusal.range },
      'OIDC provider address not allowed',
    );
    await this.login.fail(tenantId, connection, ip, 'address_not_allowed', refusal.message);
    throw authError(
      AuthErrorCode.ProviderUnavailable,
      "The identity provider's address is not allowed for SSO connections; ask the operator.",
    );
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
