import { Injectable } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { Db, type Tx } from '@app/database/db';
import { OutboxService } from '@app/events/outbox.service';
import { AuthErrorCode, authError } from '../auth.errors';
import { LoginStateStore } from '../login-state.store';
import { isDowngrade, isRole, type Role } from '../roles';
import { revokeUserLogins } from '../session-revocation';
import { SessionsService, type TokenPair } from '../sessions.service';
import { hasAnotherActiveOwner } from '../users.service';
import { SsoConnectionsService } from './sso-connections.service';
import type { SsoKind } from './sso-kind-registry';
import { mapRole, type ExternalIdentity, type SsoConnection, type SsoTenant } from './sso-kinds';

const CODE_TTL_MS = 60_000;

/** Why a login the provider vouched for is still refused, and what the person is told. */
const REFUSALS = {
  user_disabled: 'This user is disabled.',
  email_not_verified:
    'A user with this email exists and the provider does not vouch for the email.',
  email_linked_elsewhere:
    'A user with this email signs in through another connection; an admin must link or remove it.',
  last_owner:
    "Your groups would take the tenant's last owner role away; an owner must be named first.",
} as const;
type Refusal = keyof typeof REFUSALS;

class RefusedLogin extends Error {
  constructor(readonly reason: Refusal) {
    super(reason);
  }
}

interface UserRow {
  id: string;
  email: string;
  role: string;
  status: string;
  session_version: number;
}

/**
 * What every kind of SSO login shares once the identity provider has answered: the connection
 * looked up (enabled, of the expected kind), groups mapped to a role, the user provisioned just in
 * time, the session started, the security events written, and the one-time code that hands a
 * browser login to the tenant's redirect.
 */
@Injectable()
export class SsoLoginService {
  constructor(
    private readonly db: Db,
    private readonly connections: SsoConnectionsService,
    private readonly sessions: SessionsService,
    private readonly store: LoginStateStore,
    private readonly outbox: OutboxService,
  ) {}

  /** The tenant of the slug and its enabled connection (of `kind`, when given). */
  async resolve<C extends object = object>(
    slug: string,
    connectionId: string,
    kind?: SsoKind,
  ): Promise<{ tenant: SsoTenant; connection: SsoConnection<C> }> {
    const tenant = await this.sessions.findTenant(slug);
    if (!tenant || tenant.status !== 'active')
      throw authError(AuthErrorCode.ConnectionNotFound, 'No such connection.');
    const connection = await this.db.tenant(tenant.id, (tx) =>
      this.connections.load(tx, tenant.id, connectionId),
    );
    if (kind && connection.kind !== kind)
      throw authError(AuthErrorCode.ConnectionNotFound, 'No such connection.');
    if (!connection.enabled)
      throw authError(AuthErrorCode.ConnectionDisabled, 'This sign-in connection is turned off.');
    return { tenant: { id: tenant.id, slug }, connection: connection as SsoConnection<C> };
  }

  /** A browser login's `redirect` must equal one of the connection's redirect URIs exactly. */
  checkRedirect(
    connection: SsoConnection,
    redirect: string | undefined,
  ): asserts redirect is string {
    if (!redirect || !connection.config.redirectUris.includes(redirect)) {
      throw authError(
        AuthErrorCode.RedirectNotAllowed,
        'Pass ?redirect= with one of the redirect URIs configured on the connection (exact match).',
      );
    }
  }

  /** Signs in the person the provider vouched for; refusals are recorded and thrown. */
  async finish(
    tenantId: string,
    connection: SsoConnection,
    identity: ExternalIdentity,
    ip: string,
  ): Promise<TokenPair> {
    const role = mapRole(connection.config, identity.groups);
    const email = identity.email?.trim() ?? '';
    if (!role || !email) {
      await this.fail(
        tenantId,
        connection,
        ip,
        role ? 'no_email' : 'no_role',
        undefined,
        identity.subject,
      );
      throw authError(
        AuthErrorCode.NoRoleForUser,
        role ? 'The identity provider sent no email.' : 'None of your groups maps to a role here.',
      );
    }
    let refusal: Refusal | undefined;
    try {
      return await this.db.tenant(tenantId, async (tx) => {
        const user = await this.provision(tx, connection, identity, email, role);
        // A refused login changes nothing: throwing rolls back what provisioning wrote.
        if (user.status !== 'active') throw new RefusedLogin('user_disabled');
        return this.sessions.startSession(tx, tenantId, user, {
          method: connection.kind,
          connection: connection.id,
          ip,
        });
      });
    } catch (err) {
      if (!(err instanceof RefusedLogin)) throw err;
      refusal = err.reason;
    }
    await this.fail(tenantId, connection, ip, refusal, undefined, identity.subject);
    throw authError(AuthErrorCode.SsoFailed, REFUSALS[refusal]);
  }

  /** The browser's way back: the redirect URL with a one-time code for the session's tokens. */
  async handOff(tenantId: string, pair: TokenPair, redirect: string): Promise<string> {
    const code = randomBytes(32).toString('base64url');
    await this.store.put(`code:${tenantId}:${code}`, pair, CODE_TTL_MS);
    const target = new URL(redirect);
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

  /** Records a refused login through the connection (method = its kind). */
  fail(
    tenantId: string,
    connection: Pick<SsoConnection, 'id' | 'kind'>,
    ip: string,
    reason: string,
    detail?: string,
    subject?: string,
  ): Promise<void> {
    return this.sessions.recordFailure(tenantId, {
      method: connection.kind,
      connection: connection.id,
      subject: subject ?? null,
      ip,
      reason,
      ...(detail ? { detail } : {}),
    });
  }

  /**
   * The user of this subject: found by identity, else created (or, when the provider vouches for
   * the email, linked to the user of that email). The role follows the groups at every login; a
   * lower role ends the user's other sessions. Returns a refusal reason instead of a user when the
   * email belongs to someone the provider does not vouch for.
   */
  private async provision(
    tx: Tx,
    connection: SsoConnection,
    identity: ExternalIdentity,
    email: string,
    role: Role,
  ): Promise<UserRow> {
    const cols = 'u.id, u.email, u.role, u.status, u.session_version';
    // Two first logins of one person at once would both insert: the second waits here for the first
    // to commit, then finds its identity (subject first, then email: one order, so no deadlock).
    for (const key of [
      `sso-subject:${connection.id}:${identity.subject}`,
      `sso-email:${email.toLowerCase()}`,
    ]) {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [key]);
    }
    let [user] = await tx.query<UserRow>(
      `SELECT ${cols} FROM user_identities i JOIN users u ON u.tenant_id = i.tenant_id AND u.id = i.user_id
        WHERE i.connection_id = $1 AND i.subject = $2 FOR UPDATE OF u`,
      [connection.id, identity.subject],
    );
    if (!user) {
      const [byEmail] = await tx.query<UserRow>(
        `SELECT ${cols} FROM users u WHERE u.email_lower = $1 FOR UPDATE`,
        [email.toLowerCase()],
      );
      if (byEmail && !identity.emailVerified) throw new RefusedLogin('email_not_verified');
      // Linking by email is for people an admin created: a user some connection provisioned may
      // have been registered with an email nobody verified, so it is never taken over by another.
      if (byEmail) {
        const [linked] = await tx.query<{ n: string }>(
          `SELECT count(*) AS n FROM user_identities WHERE user_id = $1`,
          [byEmail.id],
        );
        if (Number(linked.n) > 0) throw new RefusedLogin('email_linked_elsewhere');
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
              identity.displayName?.slice(0, 200) ?? null,
              role,
            ],
          )
        )[0];
      await tx.execute(
        `INSERT INTO user_identities (tenant_id, connection_id, subject, user_id) VALUES ($1, $2, $3, $4)`,
        [connection.tenantId, connection.id, identity.subject, user.id],
      );
      if (!byEmail) {
        await this.outbox.record(tx, connection.tenantId, 'user.created', {
          userId: user.id,
          role,
          localPassword: false,
          by: `sso:${connection.id}`,
        });
      }
    }
    if (user.role !== role && isRole(user.role)) {
      const lower = isDowngrade(user.role, role);
      if (user.role === 'owner' && user.status === 'active') {
        // As with the users API: a tenant keeps an active owner; the IdP cannot demote the last one.
        if (!(await hasAnotherActiveOwner(tx, user.id))) throw new RefusedLogin('last_owner');
      }
      const [updated] = await tx.query<UserRow>(
        `UPDATE users SET role = $2, session_version = session_version + $3, updated_at = now()
          WHERE id = $1 RETURNING id, email, role, status, session_version`,
        [user.id, role, lower ? 1 : 0],
      );
      if (lower) await revokeUserLogins(tx, user.id);
      await this.outbox.record(tx, connection.tenantId, 'user.updated', {
        userId: user.id,
        changed: ['role'],
        role,
        previousRole: user.role,
        status: updated.status,
        sessionsEnded: lower,
        by: `sso:${connection.id}`,
      });
      user = updated;
    }
    return user;
  }
}
