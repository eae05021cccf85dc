import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { generateSecret, hashSecret, parseSecret } from '@libs/api-key';
import { IpAllowlist } from '@libs/net';
import { AppConfig } from '@app/config/app-config';
import { Db, type Tx } from '@app/database/db';
import { EventType, OutboxService } from '@app/events/outbox.service';
import {
  policyFromRow,
  TENANT_POLICY_COLUMNS,
  type TenantPolicyRow,
  type TenantRateLimitPolicy,
} from '@app/gateway/rate-limit/rate-limit-policy';
import type { Scope } from '@app/keys/scopes';
import { isUuid } from '@app/common/uuid';
import { AuthErrorCode, authError } from './auth.errors';
import { decoyHash, MAX_PASSWORD_LENGTH, verifyPassword } from './password';
import { isRole, ROLE_SCOPES, type Role } from './roles';
import { revokeLogin } from './session-revocation';
import { SigningKeysService } from './signing-keys.service';

/** The audience of console access tokens. */
export const AUDIENCE = 'quiver-api';

export interface TokenPair {
  tokenType: 'Bearer';
  accessToken: string;
  /** Seconds the access token lives. */
  expiresIn: number;
  /** Single use: each refresh returns a new one. */
  refreshToken: string;
  refreshExpiresAt: string;
}

/** Who is asking, for the security events. */
export interface Attempt {
  ip: string;
  userAgent?: string;
}

/** A verified access token and the state its user and tenant are in now. */
export interface VerifiedUser {
  tenantId: string;
  userId: string;
  sessionId: string;
  role: Role;
  scopes: readonly Scope[];
  tenantStatus: string;
  tenantAllowlist: IpAllowlist | null;
  rateLimits: TenantRateLimitPolicy;
}

export interface TenantRow {
  id: string;
  status: string;
  local_login: boolean;
}

interface UserRow {
  id: string;
  email: string;
  role: string;
  status: string;
  password_hash: string | null;
  session_version: number;
}

/**
 * Sessions for people: the break-glass local login, refresh-token rotation with reuse detection,
 * logout, and the per-request check of an access token. Every login, failure and logout is an
 * outbox event (written in the same transaction as the change it goes with).
 */
@Injectable()
export class SessionsService {
  private readonly issuer: string;
  private readonly accessTtl: number;
  private readonly refreshTtl: number;
  private readonly keyEnv: 'live' | 'test';

  constructor(
    private readonly db: Db,
    private readonly keys: SigningKeysService,
    private readonly outbox: OutboxService,
    config: AppConfig,
  ) {
    this.issuer = config.env.AUTH_ISSUER;
    this.accessTtl = config.env.AUTH_ACCESS_TOKEN_TTL_SECONDS;
    this.refreshTtl = config.env.AUTH_REFRESH_TOKEN_TTL_SECONDS;
    this.keyEnv = config.env.QUIVER_KEY_ENV;
  }

  async loginLocal(
    slug: string,
    email: string,
    password: string,
    who: Attempt,
  ): Promise<TokenPair> {
    const tenant = await this.findTenant(slug);
    const invalid = () =>
      authError(AuthErrorCode.InvalidCredentials, 'The email or the password is wrong.');
    if (!tenant) {
      // Same cost as a real check, so timing does not tell which tenants exist.
      await verifyPassword(password, await decoyHash());
      throw invalid();
    }
    const fail = (reason: string, userId?: string) =>
      this.recordFailure(tenant.id, {
        method: 'local',
        connection: null,
        email: email.slice(0, 320),
        userId: userId ?? null,
        ip: who.ip,
        reason,
      });
    if (tenant.status !== 'active') {
      await fail(`tenant_${tenant.status}`);
      throw invalid();
    }
    if (!tenant.local_login) {
      await fail('local_login_disabled');
      throw authError(
        AuthErrorCode.LocalLoginDisabled,
        'This tenant signs in through its identity provider; local login is off.',
      );
    }
    const user = await this.db.tenant(tenant.id, async (tx) => {
      const [row] = await tx.query<UserRow>(
        `SELECT id, email, role, status, password_hash, session_version FROM users
          WHERE email_lower = $1`,
        [email.trim().toLowerCase()],
      );
      return row;
    });
    // Blank passwords never reach a comparison that could succeed; the work is the same.
    const blank = password.trim().length === 0 || password.length > MAX_PASSWORD_LENGTH;
    const ok = await verifyPassword(
      blank ? '' : password,
      user?.password_hash && !blank ? user.password_hash : await decoyHash(),
    );
    if (!user || !ok || blank || user.status !== 'active' || !isRole(user.role)) {
      const reason = !user
        ? 'unknown_user'
        : blank
          ? 'blank_password'
          : !user.password_hash
            ? 'no_local_password'
            : !ok
              ? 'wrong_password'
              : 'user_disabled';
      await fail(reason, user?.id);
      throw invalid();
    }
    return this.db.tenant(tenant.id, (tx) =>
      this.startSession(tx, tenant.id, user, { method: 'local', connection: null, ip: who.ip }),
    );
  }

  /** A new login (refresh-token family) for a user, with its event, in the caller's transaction. */
  async startSession(
    tx: Tx,
    tenantId: string,
    user: Pick<UserRow, 'id' | 'role' | 'session_version'>,
    how: { method: string; connection: string | null; ip: string },
  ): Promise<TokenPair> {
    const familyId = randomUUID();
    const refresh = await this.insertRefresh(tx, tenantId, user.id, familyId);
    await tx.execute(`UPDATE users SET last_login_at = now() WHERE id = $1`, [user.id]);
    await this.event(tx, tenantId, 'auth.login_succeeded', {
      ...how,
      userId: user.id,
      sessionId: familyId,
      outcome: 'success',
    });
    return this.pair(tenantId, user, familyId, refresh);
  }

  /** A refused login, recorded on its own (nothing else changes). */
  async recordFailure(tenantId: string, data: Record<string, unknown>): Promise<void> {
    await this.db.tenant(
      tenantId,
      (tx) => this.event(tx, tenantId, 'auth.login_failed', { ...data, outcome: 'failure' }),
      { require: 'any' },
    );
  }

  /** Uses a refresh token once; a second use revokes every token of its login (reuse detection). */
  async refresh(slug: string, presented: string, who: Attempt): Promise<TokenPair> {
    const tenant = await this.findTenant(slug);
    const hash = this.parseRefresh(presented);
    if (!tenant || !hash) throw this.badRefresh();
    const outcome = await this.db.tenant(
      tenant.id,
      async (tx) => {
        const [row] = await tx.query<
          UserRow & {
            token_id: string;
            family_id: string;
            expires_at: Date;
            used_at: Date | null;
            revoked_at: Date | null;
          }
        >(
          `SELECT r.id AS token_id, r.family_id, r.expires_at, r.used_at, r.revoked_at,
                  u.id, u.email, u.role, u.status, u.password_hash, u.session_version
             FROM refresh_tokens r JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id
            WHERE r.token_hash = $1 FOR UPDATE OF r`,
          [hash],
        );
        if (!row || row.revoked_at !== null || row.expires_at.getTime() <= Date.now())
          return { kind: 'invalid' as const };
        if (row.used_at !== null) {
          await revokeLogin(tx, row.family_id);
          await this.event(tx, tenant.id, 'auth.refresh_reused', {
            method: 'refresh',
            userId: row.id,
            sessionId: row.family_id,
            ip: who.ip,
            outcome: 'failure',
            reason: 'refresh_token_reused',
          });
          return { kind: 'reused' as const };
        }
        if (tenant.status !== 'active' || row.status !== 'active' || !isRole(row.role))
          return { kind: 'ended' as const };
        await tx.execute(`UPDATE refresh_tokens SET used_at = now() WHERE id = $1`, [row.token_id]);
        const refresh = await this.insertRefresh(tx, tenant.id, row.id, row.family_id);
        return {
          kind: 'ok' as const,
          pair: await this.pair(tenant.id, row, row.family_id, refresh),
        };
      },
      { require: 'any' },
    );
    if (outcome.kind === 'ok') return outcome.pair;
    if (outcome.kind === 'reused') {
      throw authError(
        AuthErrorCode.RefreshTokenReused,
        'This refresh token was used before; every session token of this login is revoked.',
      );
    }
    if (outcome.kind === 'ended')
      throw authError(AuthErrorCode.SessionEnded, 'The user or the tenant is no longer active.');
    throw this.badRefresh();
  }

  /** Ends the login the refresh token belongs to: its refresh tokens and its access tokens. */
  async logout(slug: string, presented: string, who: Attempt): Promise<void> {
    const tenant = await this.findTenant(slug);
    const hash = this.parseRefresh(presented);
    if (!tenant || !hash) throw this.badRefresh();
    const done = await this.db.tenant(
      tenant.id,
      async (tx) => {
        const [row] = await tx.query<{ family_id: string; user_id: string }>(
          `SELECT family_id, user_id FROM refresh_tokens WHERE token_hash = $1`,
          [hash],
        );
        if (!row) return false;
        await revokeLogin(tx, row.family_id);
        await this.event(tx, tenant.id, 'auth.logout', {
          method: 'local',
          userId: row.user_id,
          sessionId: row.family_id,
          ip: who.ip,
          outcome: 'success',
        });
        return true;
      },
      { require: 'any' },
    );
    if (!done) throw this.badRefresh();
  }

  /**
   * Checks an access token and reads, in one statement, what its user and tenant are now: a user
   * removed, disabled or moved to a role with fewer permissions (session_version bumped), or a
   * login logged out, ends the token at once, on every instance.
   */
  async verifyAccessToken(token: string): Promise<VerifiedUser> {
    const claims = await this.keys.verify(token, this.issuer, AUDIENCE);
    const { sub, tid, sid, sv } = claims as Record<string, unknown>;
    if (!isUuid(sub) || !isUuid(tid) || !isUuid(sid) || typeof sv !== 'number')
      throw authError(AuthErrorCode.InvalidAccessToken, 'The access token is not valid.');
    const row = await this.db.tenant(
      tid,
      async (tx) => {
        const [r] = await tx.query<
          TenantPolicyRow & {
            role: string;
            status: string;
            session_version: number;
            tenant_status: string;
            allowed_ips: string[] | null;
            logged_out: boolean;
          }
        >(
          `SELECT u.role, u.status, u.session_version, t.status AS tenant_status,
                  t.settings #> '{network,allowedIps}' AS allowed_ips,
                  NOT EXISTS (SELECT 1 FROM refresh_tokens r
                               WHERE r.family_id = $2 AND r.revoked_at IS NULL) AS logged_out,
                  ${TENANT_POLICY_COLUMNS}
             FROM users u JOIN tenants t ON t.id = u.tenant_id LEFT JOIN plans p ON p.name = t.plan
            WHERE u.id = $1`,
          [sub, sid],
        );
        return r;
      },
      { require: 'any' },
    );
    if (
      !row ||
      row.status !== 'active' ||
      row.session_version !== sv ||
      row.logged_out ||
      !isRole(row.role)
    ) {
      throw authError(AuthErrorCode.SessionEnded, 'This session has ended; sign in again.');
    }
    return {
      tenantId: tid,
      userId: sub,
      sessionId: sid,
      role: row.role,
      scopes: ROLE_SCOPES[row.role],
      tenantStatus: row.tenant_status,
      tenantAllowlist: row.allowed_ips?.length ? IpAllowlist.compile(row.allowed_ips) : null,
      rateLimits: policyFromRow(row),
    };
  }

  private async pair(
    tenantId: string,
    user: Pick<UserRow, 'id' | 'role' | 'session_version'>,
    familyId: string,
    refresh: { secret: string; expiresAt: Date },
  ): Promise<TokenPair> {
    const accessToken = await this.keys.sign(
      { sub: user.id, tid: tenantId, sid: familyId, sv: user.session_version, role: user.role },
      this.accessTtl,
      this.issuer,
      AUDIENCE,
    );
    return {
      tokenType: 'Bearer',
      accessToken,
      expiresIn: this.accessTtl,
      refreshToken: refresh.secret,
      refreshExpiresAt: refresh.expiresAt.toISOString(),
    };
  }

  private async insertRefresh(tx: Tx, tenantId: string, userId: string, familyId: string) {
    const generated = generateSecret('qvu', this.keyEnv);
    const expiresAt = new Date(Date.now() + this.refreshTtl * 1000);
    await tx.execute(
      `INSERT INTO refresh_tokens (tenant_id, id, user_id, family_id, token_hash, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [tenantId, randomUUID(), userId, familyId, hashSecret(generated.secret), expiresAt],
    );
    return { secret: generated.secret, expiresAt };
  }

  private parseRefresh(presented: unknown): Buffer | null {
    return parseSecret(presented, 'qvu').ok ? hashSecret(presented as string) : null;
  }

  private badRefresh() {
    return authError(AuthErrorCode.InvalidRefreshToken, 'The refresh token is not valid.');
  }

  async findTenant(slug: string): Promise<TenantRow | undefined> {
    if (!/^[a-z0-9-]{1,63}$/.test(slug)) return undefined;
    const [row] = await this.db.platform((tx) =>
      tx.query<TenantRow>(
        `SELECT id, status,
                COALESCE((settings #>> '{auth,localLogin}')::boolean, true) AS local_login
           FROM tenants WHERE slug = $1`,
        [slug],
      ),
    );
    return row;
  }

  private event(tx: Tx, tenantId: string, type: EventType, data: Record<string, unknown>) {
    return this.outbox.record(tx, tenantId, type, data);
  }
}
