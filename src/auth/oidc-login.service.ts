import { Injectable, Logger } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import * as client from 'openid-client';
import { AppConfig } from '@app/config/app-config';
import { Db, type Tx } from '@app/database/db';
import { AuthErrorCode, authError } from './auth.errors';
import { LoginStateStore } from './login-state.store';
import { isDowngrade, isRole, type Role } from './roles';
import { revokeUserLogins } from './session-revocation';
import { SessionsService, type TokenPair } from './sessions.service';
import { SsoConnectionsService, type SsoConnection } from './sso-connections.service';

const LOGIN_TTL_MS = 10 * 60_000;
const CODE_TTL_MS = 60_000;
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

interface UserRow {
  id: string;
  email: string;
  role: string;
  status: string;
  session_version: number;
}

/**
 * OpenID Connect login for a tenant's connection, with openid-client: discovery, authorization code
 * with PKCE (S256), state and nonce bound to the browser's login cookie and kept server-side for
 * single use, the issuer pinned from start to callback (RFC 9207 `iss` checked by the library when the
 * provider sends it), the ID-token algorithm pinned per connection, userinfo, then just-in-time
 * provisioning with the group -> role mapping applied at every login.
 */
@Injectable()
export class OidcLoginService {
  private readonly logger = new Logger('OidcLogin');
  private readonly allowHttp: boolean;
  private readonly discovered = new Map<
    string,
    { at: number; config: Promise<client.Configuration> }
  >();

  constructor(
    private readonly db: Db,
    private readonly connections: SsoConnectionsService,
    private readonly sessions: SessionsService,
    private readonly store: LoginStateStore,
    config: AppConfig,
  ) {
    this.allowHttp = config.env.SSO_ALLOW_HTTP_ISSUERS;
  }

  /** Returns where to send the browser, and the login id its cookie must carry back. */
  async start(
    slug: string,
    connectionId: string,
    redirect: string | undefined,
  ): Promise<{ url: string; loginId: string }> {
    const { tenant, connection } = await this.resolve(slug, connectionId);
    if (!redirect || !connection.config.redirectUris.includes(redirect)) {
      throw authError(
        AuthErrorCode.RedirectNotAllowed,
        'Pass ?redirect= with one of the redirect URIs configured on the connection (exact match).',
      );
    }
    const config = await this.discover(connection);
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
    const { tenant, connection } = await this.resolve(slug, connectionId);
    if (!pending || pending.tenantId !== tenant.id || pending.connectionId !== connectionId) {
      await this.fail(tenant.id, connectionId, ip, 'login_session_invalid');
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
      await this.fail(tenant.id, connectionId, ip, 'idp_response_refused', reason);
      throw authError(AuthErrorCode.SsoFailed, 'The identity provider response was refused.');
    }
    const subject = String(claims.sub);
    const email = typeof claims.email === 'string' ? claims.email.trim() : '';
    const role = mapRole(connection, claims);
    if (!role || !email) {
      await this.fail(
        tenant.id,
        connectionId,
        ip,
        role ? 'no_email' : 'no_role',
        undefined,
        subject,
      );
      throw authError(
        AuthErrorCode.NoRoleForUser,
        role ? 'The identity provider sent no email.' : 'None of your groups maps to a role here.',
      );
    }
    const pair = await this.db.tenant(tenant.id, async (tx) => {
      const user = await this.provision(tx, connection, subject, email, role, claims);
      if (user.status !== 'active') return undefined;
      return this.sessions.startSession(tx, tenant.id, user, {
        method: 'oidc',
        connection: connectionId,
        ip,
      });
    });
    if (!pair) {
      await this.fail(tenant.id, connectionId, ip, 'user_disabled', undefined, subject);
      throw authError(AuthErrorCode.SsoFailed, 'This user is disabled.');
    }
    const code = randomBytes(32).toString('base64url');
    await this.store.put(`code:${tenant.id}:${code}`, pair, CODE_TTL_MS);
    const target = new URL(pending.redirect);
    target.searchParams.set('code', code);
    return target.href;
  }

  /** The one-time code from the redirect, traded once for the session's tokens. */
  async exchange(slug: string, code: string): Promise<TokenPair> {
    const tenant = await this.sessions.findTenant(slug);
    const pair =
      tenant && /^[\w-]{43}$/.test(code)
        ? await this.store.take<TokenPair>(`code:${tenant.id}:${code}`)
        : undefined;
    if (!pair) throw authError(AuthErrorCode.LoginCodeInvalid, 'The login code is not valid.');
    return pair;
  }

  private async resolve(slug: string, connectionId: string) {
    const tenant = await this.sessions.findTenant(slug);
    if (!tenant || tenant.status !== 'active')
      throw authError(AuthErrorCode.ConnectionNotFound, 'No such connection.');
    const connection = await this.db.tenant(tenant.id, (tx) =>
      this.connections.load(tx, tenant.id, connectionId),
    );
    if (!connection.enabled)
      throw authError(AuthErrorCode.ConnectionDisabled, 'This sign-in connection is turned off.');
    return { tenant, connection };
  }

  /**
   * The user of this subject: found by identity, else created (or, when the provider vouches for the
   * email with email_verified, linked to the user of that email). The role follows the groups at
   * every login; a lower role ends the user's other sessions.
   */
  private async provision(
    tx: Tx,
    connection: SsoConnection,
    subject: string,
    email: string,
    role: Role,
    claims: Record<string, unknown>,
  ): Promise<UserRow> {
    const cols = 'u.id, u.email, u.role, u.status, u.session_version';
    let [user] = await tx.query<UserRow>(
      `SELECT ${cols} FROM user_identities i JOIN users u ON u.tenant_id = i.tenant_id AND u.id = i.user_id
        WHERE i.connection_id = $1 AND i.subject = $2 FOR UPDATE OF u`,
      [connection.id, subject],
    );
    if (!user) {
      const [byEmail] = await tx.query<UserRow>(
        `SELECT ${cols} FROM users u WHERE u.email_lower = $1 FOR UPDATE`,
        [email.toLowerCase()],
      );
      if (byEmail && claims.email_verified !== true) {
        throw authError(
          AuthErrorCode.SsoFailed,
          'A user with this email exists and the provider does not vouch for the email.',
        );
      }
      user =
        byEmail ??
        (
          await tx.query<UserRow>(
            `INSERT INTO users (tenant_id, id, email, email_lower, display_name, role)
             VALUES ($1, $2, $3, $4, $5, $6)
             RETURNING id, email, role, status, session_version`,
            [
              connection.tenantId,
              randomUUID(),
              email,
              email.toLowerCase(),
              typeof claims.name === 'string' ? claims.name.slice(0, 200) : null,
              role,
            ],
          )
        )[0];
      await tx.execute(
        `INSERT INTO user_identities (tenant_id, connection_id, subject, user_id) VALUES ($1, $2, $3, $4)`,
        [connection.tenantId, connection.id, subject, user.id],
      );
    }
    if (user.role !== role && isRole(user.role)) {
      const lower = isDowngrade(user.role, role);
      const [updated] = await tx.query<UserRow>(
        `UPDATE users SET role = $2, session_version = session_version + $3, updated_at = now()
          WHERE id = $1 RETURNING id, email, role, status, session_version`,
        [user.id, role, lower ? 1 : 0],
      );
      if (lower) await revokeUserLogins(tx, user.id);
      user = updated;
    }
    return user;
  }

  private discover(connection: SsoConnection): Promise<client.Configuration> {
    const key = `${connection.id}:${JSON.stringify(connection.config)}:${connection.clientSecret ?? ''}`;
    const hit = this.discovered.get(key);
    if (hit && Date.now() - hit.at < DISCOVERY_TTL_MS) return hit.config;
    const { issuer, clientId, idTokenAlg } = connection.config;
    const insecure = this.allowHttp && issuer.startsWith('http://');
    const config = client
      .discovery(
        new URL(issuer),
        clientId,
        { id_token_signed_response_alg: idTokenAlg },
        connection.clientSecret ? client.ClientSecretBasic(connection.clientSecret) : client.None(),
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

  private fail(
    tenantId: string,
    connectionId: string,
    ip: string,
    reason: string,
    detail?: string,
    subject?: string,
  ): Promise<void> {
    return this.sessions.recordFailure(tenantId, {
      method: 'oidc',
      connection: connectionId,
      subject: subject ?? null,
      ip,
      reason,
      ...(detail ? { detail } : {}),
    });
  }
}

/** The first mapping entry whose group the user is in, else the connection's default role. */
export function mapRole(connection: SsoConnection, claims: Record<string, unknown>): Role | null {
  const raw = claims[connection.config.groupsClaim];
  const groups = Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string') : [];
  const hit = connection.config.roleMapping.find((m) => groups.includes(m.group));
  return hit?.role ?? connection.config.defaultRole;
}
