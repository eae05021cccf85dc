import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { isUuid } from '@app/common/uuid';
import { Db, type TenantRequirement, type Tx } from '@app/database/db';
import { OutboxService } from '@app/events/outbox.service';
import { AuthErrorCode, authError } from './auth.errors';
import type { CreateUserDto, UpdateUserDto, UserStatus, UserView } from './dto/user.dto';
import { hashPassword } from './password';
import { isDowngrade, isRole, mayAssign, type Role } from './roles';
import type { TenantContext } from '@app/common/context/tenant-context';
import { revokeUserLogins } from './session-revocation';

interface UserRow {
  id: string;
  email: string;
  display_name: string | null;
  role: Role;
  status: UserStatus;
  has_password: boolean;
  last_login_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, email, display_name, role, status, password_hash IS NOT NULL AS has_password,
                 last_login_at, created_at, updated_at`;

/** Who changes users: a tenant user (with a role), an API key, or the platform admin. */
export type Actor = { kind: 'user'; userId: string; role: Role } | { kind: 'api_key' | 'platform' };

/** The request's caller as an Actor: a signed-in user with its role, else an API key. */
export function actorOf(context: TenantContext): Actor {
  const p = context.principal;
  if (p?.kind === 'user' && isRole(p.role)) return { kind: 'user', userId: p.userId, role: p.role };
  return { kind: 'api_key' };
}

/**
 * Whether an active owner other than `userId` remains; the other owners are locked until the
 * transaction ends, so two demotions at once cannot both see the other one.
 */
export async function hasAnotherActiveOwner(tx: Tx, userId: string): Promise<boolean> {
  const others = await tx.query<{ id: string }>(
    `SELECT id FROM users WHERE role = 'owner' AND status = 'active' AND id <> $1 FOR UPDATE`,
    [userId],
  );
  return others.length > 0;
}

/** Refuses a role the actor may not give (an admin cannot make owners, by hand or by SSO mapping). */
export function checkAssign(actor: Actor, role: Role): void {
  const as = actor.kind === 'user' ? actor.role : 'api_key';
  if (!mayAssign(as, role)) {
    throw authError(
      AuthErrorCode.RoleNotAssignable,
      `A user with role ${as} cannot give, change or remove the role ${role}.`,
      { role },
    );
  }
}

/**
 * The people of a tenant. Removing a user, disabling one, or moving one to a role with fewer
 * permissions bumps its session version and revokes its refresh tokens, in the same transaction:
 * its access tokens stop working on the next request.
 */
@Injectable()
export class UsersService {
  constructor(
    private readonly db: Db,
    private readonly outbox: OutboxService,
  ) {}

  async create(
    tenantId: string,
    dto: CreateUserDto,
    actor: Actor,
    require: TenantRequirement = 'active',
  ): Promise<UserView> {
    checkAssign(actor, dto.role);
    const passwordHash = dto.password ? await hashPassword(dto.password) : null;
    const row = await this.db.tenant(
      tenantId,
      async (tx) => {
        const [created] = await tx.query<UserRow>(
          `INSERT INTO users (tenant_id, id, email, email_lower, display_name, role, password_hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (tenant_id, email_lower) DO NOTHING
           RETURNING ${COLUMNS}`,
          [
            tenantId,
            randomUUID(),
            dto.email.trim(),
            dto.email.trim().toLowerCase(),
            dto.displayName ?? null,
            dto.role,
            passwordHash,
          ],
        );
        if (!created)
          throw authError(AuthErrorCode.UserExists, 'A user with this email already exists.');
        await this.outbox.record(tx, tenantId, 'user.created', {
          userId: created.id,
          role: created.role,
          localPassword: created.has_password,
          by: actor.kind === 'user' ? actor.userId : actor.kind,
        });
        return created;
      },
      { require },
    );
    return toView(row);
  }

  async list(tenantId: string): Promise<UserView[]> {
    const rows = await this.db.tenant(tenantId, (tx) =>
      tx.query<UserRow>(`SELECT ${COLUMNS} FROM users ORDER BY email_lower`),
    );
    return rows.map(toView);
  }

  async get(tenantId: string, userId: string): Promise<UserView> {
    return toView(await this.db.tenant(tenantId, (tx) => this.find(tx, userId, false)));
  }

  async update(
    tenantId: string,
    userId: string,
    dto: UpdateUserDto,
    actor: Actor,
  ): Promise<UserView> {
    const passwordHash = dto.password ? await hashPassword(dto.password) : undefined;
    const row = await this.db.tenant(tenantId, async (tx) => {
      const current = await this.find(tx, userId, true);
      checkAssign(actor, current.role);
      if (dto.role) checkAssign(actor, dto.role);
      const role = dto.role ?? current.role;
      const status = dto.status ?? current.status;
      const losesOwner =
        current.role === 'owner' &&
        current.status === 'active' &&
        (role !== 'owner' || status !== 'active');
      if (losesOwner) await this.keepAnOwner(tx, userId);
      const endSessions =
        isDowngrade(current.role, role) || (status !== 'active' && current.status === 'active');
      const [updated] = await tx.query<UserRow>(
        `UPDATE users SET display_name = COALESCE($2, display_name), role = $3, status = $4,
                password_hash = COALESCE($5, password_hash),
                session_version = session_version + $6, updated_at = now()
          WHERE id = $1 RETURNING ${COLUMNS}`,
        [userId, dto.displayName ?? null, role, status, passwordHash ?? null, endSessions ? 1 : 0],
      );
      if (endSessions) await revokeUserLogins(tx, userId);
      await this.outbox.record(tx, tenantId, 'user.updated', {
        userId,
        changed: Object.entries(dto)
          .filter(([, v]) => v !== undefined)
          .map(([k]) => k),
        role,
        previousRole: current.role,
        status,
        sessionsEnded: endSessions,
        by: actor.kind === 'user' ? actor.userId : actor.kind,
      });
      return updated;
    });
    return toView(row);
  }

  async remove(tenantId: string, userId: string, actor: Actor): Promise<void> {
    await this.db.tenant(tenantId, async (tx) => {
      const current = await this.find(tx, userId, true);
      checkAssign(actor, current.role);
      if (current.role === 'owner' && current.status === 'active')
        await this.keepAnOwner(tx, userId);
      // Refresh tokens go with the row (ON DELETE CASCADE); access tokens find no user.
      await tx.execute(`DELETE FROM users WHERE id = $1`, [userId]);
      await this.outbox.record(tx, tenantId, 'user.deleted', {
        userId,
        role: current.role,
        by: actor.kind === 'user' ? actor.userId : actor.kind,
      });
    });
  }

  /** Refuses to leave the tenant without an active owner. */
  private async keepAnOwner(tx: Tx, leaving: string): Promise<void> {
    if (!(await hasAnotherActiveOwner(tx, leaving))) {
      throw authError(
        AuthErrorCode.LastOwner,
        'This is the last active owner: make another user owner first.',
      );
    }
  }

  private async find(tx: Tx, userId: string, lock: boolean): Promise<UserRow> {
    if (!isUuid(userId)) throw authError(AuthErrorCode.UserNotFound, 'No such user.');
    const [row] = await tx.query<UserRow>(
      `SELECT ${COLUMNS} FROM users WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [userId],
    );
    if (!row) throw authError(AuthErrorCode.UserNotFound, 'No such user.');
    return row;
  }
}

function toView(row: UserRow): UserView {
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    role: row.role,
    status: row.status,
    localPassword: row.has_password,
    lastLoginAt: row.last_login_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
