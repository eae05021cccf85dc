import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '@app/config/app-config';
import { CommonErrorCode, commonError } from '@app/common/errors/common-errors';
import { isUuid } from '@app/common/uuid';
import { Db, Tx } from '@app/database/db';
import { EventType, OutboxService } from '@app/events/outbox.service';
import { JobsService } from '@app/jobs/jobs.service';
import { KeysService } from '@app/keys/keys.service';
import { CreateTenantDto, UpdateTenantDto } from './dto/create-tenant.dto';
import { ListTenantsQuery } from './dto/list-tenants.query';
import { TenantPage, TenantSettingsView, TenantView } from './dto/tenant.response';
import { TenancyErrorCode, tenancyError } from './tenancy.errors';
import type { TenantStatus } from './tenant.entity';
import { parseTenantSettings, TenantSettings } from './tenant-settings';
import { TenantPurger } from './tenant-purger';

interface TenantRow {
  id: string;
  slug: string;
  name: string;
  plan: string;
  status: TenantStatus;
  settings: Record<string, unknown>;
  settings_version: number;
  settings_updated_at: Date;
  suspended_at: Date | null;
  deletion_requested_at: Date | null;
  purge_after: Date | null;
  created_at: Date;
  updated_at: Date;
}

const TENANT_COLUMNS = `id, slug, name, plan, status, settings, settings_version, settings_updated_at,
  suspended_at, deletion_requested_at, purge_after, created_at, updated_at`;

export const PURGE_JOB = 'tenants.purge';
export const PURGE_SCAN_JOB = 'tenants.purge-scan';

/** Tenants and their lifecycle: active <-> suspended; any -> pending_deletion -> purged. */
@Injectable()
export class TenantsService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Tenants');

  constructor(
    private readonly db: Db,
    private readonly outbox: OutboxService,
    private readonly keys: KeysService,
    private readonly jobs: JobsService,
    private readonly purger: TenantPurger,
    private readonly config: AppConfig,
  ) {
    this.jobs.register(PURGE_JOB, (p) => this.purger.purgeCurrentTenant(p.tenantId as string), {
      tenantScoped: true,
    });
    this.jobs.register(PURGE_SCAN_JOB, () => this.enqueueDuePurges(), { tenantScoped: false });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.every(PURGE_SCAN_JOB, this.config.env.PURGE_SCAN_INTERVAL_MS);
  }

  async create(dto: CreateTenantDto): Promise<TenantView> {
    const settings = this.validateSettings(dto.settings ?? {});
    const id = randomUUID();
    const row = await this.db.tenant(
      id,
      async (tx) => {
        const [created] = await tx
          .query<TenantRow>(
            `INSERT INTO tenants (id, slug, name, plan, settings) VALUES ($1, $2, $3, $4, $5::jsonb)
             RETURNING ${TENANT_COLUMNS}`,
            [id, dto.slug, dto.name, dto.plan ?? 'free', JSON.stringify(settings)],
          )
          .catch((err: { code?: string; constraint?: string }) => {
            if (err.code === '23505')
              throw tenancyError(
                TenancyErrorCode.TenantSlugTaken,
                `The slug "${dto.slug}" is taken.`,
              );
            throw unknownPlan(err, dto.plan);
          });
        await this.event(tx, id, 'tenant.created', {
          slug: dto.slug,
          name: dto.name,
          plan: created.plan,
        });
        return created;
      },
      { require: 'any' },
    );
    return toView(row);
  }

  async list(query: ListTenantsQuery): Promise<TenantPage> {
    const limit = query.limit ?? 50;
    const cursor = query.cursor ? decodeCursor(query.cursor) : undefined;
    const params: unknown[] = [limit + 1];
    const where: string[] = [];
    if (cursor) {
      params.push(cursor.createdAt, cursor.id);
      where.push(
        `(created_at, id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`,
      );
    }
    if (query.status) {
      params.push(query.status);
      where.push(`status = $${params.length}`);
    }
    // The cursor carries created_at at the database's microsecond precision: a JS Date would round it
    // to milliseconds and the next page would repeat the last row.
    const rows = await this.db.platform((tx) =>
      tx.query<TenantRow & { cursor_ts: string }>(
        `SELECT ${TENANT_COLUMNS},
           to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_ts
         FROM tenants ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY created_at, id LIMIT $1`,
        params,
      ),
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toView),
      nextCursor: rows.length > limit && last ? encodeCursor(last.cursor_ts, last.id) : null,
    };
  }

  async get(id: string): Promise<TenantView> {
    return toView(await this.db.platform((tx) => this.find(tx, id, false)));
  }

  async update(id: string, dto: UpdateTenantDto): Promise<TenantView> {
    const updated = await this.mutate(id, async (tx, current) => {
      const [row] = await tx
        .query<TenantRow>(
          `UPDATE tenants SET name = COALESCE($2, name), plan = COALESCE($3, plan), updated_at = now()
           WHERE id = $1 RETURNING ${TENANT_COLUMNS}`,
          [id, dto.name ?? null, dto.plan ?? null],
        )
        .catch((err: { code?: string; constraint?: string }) => {
          throw unknownPlan(err, dto.plan);
        });
      await this.event(tx, id, 'tenant.updated', {
        changed: Object.entries(dto)
          .filter(([, v]) => v !== undefined)
          .map(([k]) => k),
        plan: row.plan,
        previousPlan: current.plan,
      });
      return row;
    });
    // The plan sets the rate limits, which cached key lookups carry.
    if (dto.plan !== undefined) this.keys.forgetTenant(id);
    return toView(updated);
  }

  async getSettings(id: string): Promise<TenantSettingsView> {
    return toSettingsView(await this.db.platform((tx) => this.find(tx, id, false)));
  }

  /** Settings are replaced whole, and only by a caller who saw the current version (If-Match). */
  async putSettings(
    id: string,
    ifMatch: string | undefined,
    input: Record<string, unknown>,
  ): Promise<TenantSettingsView> {
    if (!ifMatch) {
      throw tenancyError(
        TenancyErrorCode.IfMatchRequired,
        'Send the ETag of the settings you read as If-Match.',
      );
    }
    // RFC 9110: If-Match uses strong comparison (a weak W/"n" never matches); "*" matches any
    // current document.
    const expected = ifMatch.trim() === '*' ? 'any' : parseEtag(ifMatch);
    const settings = this.validateSettings(input);
    const row = await this.mutate(id, async (tx, current) => {
      if (expected !== 'any' && current.settings_version !== expected) {
        throw tenancyError(
          TenancyErrorCode.SettingsVersionMismatch,
          `The settings are at version ${current.settings_version}; re-read them and apply your change again.`,
          { currentVersion: current.settings_version },
        );
      }
      const [updated] = await tx.query<TenantRow>(
        `UPDATE tenants SET settings = $2::jsonb, settings_version = settings_version + 1,
           settings_updated_at = now(), updated_at = now()
         WHERE id = $1 RETURNING ${TENANT_COLUMNS}`,
        [id, JSON.stringify(settings)],
      );
      await this.event(tx, id, 'tenant.settings_updated', {
        version: updated.settings_version,
        sections: Object.keys(settings),
      });
      return updated;
    });
    // Cached key lookups carry the tenant's IP allowlist: drop them on every instance.
    this.keys.forgetTenant(id);
    return toSettingsView(row);
  }

  async suspend(id: string): Promise<TenantView> {
    return this.transition(id, ['active'], 'suspended', 'tenant.suspended', `suspended_at = now()`);
  }

  /**
   * Resumes a suspended tenant, or cancels a pending deletion before the purge runs. Cancelling a
   * deletion does not lift a suspension that was in force when the deletion was requested: the
   * tenant goes back to suspended, and a second resume makes it active.
   */
  async resume(id: string): Promise<TenantView> {
    const row = await this.mutate(id, async (tx, current) => {
      if (current.status === 'active') {
        throw tenancyError(TenancyErrorCode.InvalidTenantState, 'The tenant is already active.', {
          status: current.status,
        });
      }
      const cancelling = current.status === 'pending_deletion';
      const to: TenantStatus = cancelling && current.suspended_at ? 'suspended' : 'active';
      const [updated] = await tx.query<TenantRow>(
        `UPDATE tenants SET status = $2,
           suspended_at = CASE WHEN $2 = 'active' THEN NULL ELSE suspended_at END,
           deletion_requested_at = NULL, purge_after = NULL, updated_at = now()
         WHERE id = $1 RETURNING ${TENANT_COLUMNS}`,
        [id, to],
      );
      await this.event(tx, id, cancelling ? 'tenant.deletion_cancelled' : 'tenant.resumed', {
        previousStatus: current.status,
        status: to,
      });
      return updated;
    });
    this.keys.forgetTenant(id);
    return toView(row);
  }

  async scheduleDeletion(id: string, purgeNow: boolean): Promise<TenantView> {
    const grace = purgeNow ? 0 : this.config.env.TENANT_PURGE_GRACE_HOURS;
    const row = await this.mutate(id, async (tx, current) => {
      const [updated] = await tx.query<TenantRow>(
        `UPDATE tenants SET status = 'pending_deletion',
           deletion_requested_at = COALESCE(deletion_requested_at, now()),
           purge_after = CASE WHEN $2::int = 0 THEN now()
                              ELSE COALESCE(purge_after, now() + make_interval(hours => $2::int)) END,
           updated_at = now()
         WHERE id = $1 RETURNING ${TENANT_COLUMNS}`,
        [id, grace],
      );
      if (current.status !== 'pending_deletion' || purgeNow) {
        await this.event(tx, id, 'tenant.deletion_scheduled', {
          purgeAfter: updated.purge_after?.toISOString(),
          previousStatus: current.status,
        });
      }
      return updated;
    });
    this.keys.forgetTenant(id);
    if (purgeNow) await this.enqueuePurge(id, row.purge_after!);
    return toView(row);
  }

  /** Finds tenants whose grace period is over and queues one purge job each. */
  async enqueueDuePurges(): Promise<number> {
    const due = await this.db.platform((tx) =>
      tx.query<{ id: string; purge_after: Date }>(
        `SELECT id, purge_after FROM tenants WHERE status = 'pending_deletion' AND purge_after <= now()
         ORDER BY purge_after LIMIT 100`,
      ),
    );
    for (const t of due) await this.enqueuePurge(t.id, t.purge_after);
    if (due.length) this.logger.log(`queued ${due.length} tenant purge(s)`);
    return due.length;
  }

  /**
   * One purge job per deletion request: the job id is deduplicated by BullMQ for as long as the job
   * is kept (also after it completed), so it names the request (its purge_after), not just the
   * tenant. A purge that finds the tenant resumed or not yet due does nothing, so repeats are safe.
   */
  private enqueuePurge(tenantId: string, purgeAfter: Date): Promise<void> {
    return this.jobs.enqueue(
      PURGE_JOB,
      { tenantId },
      { jobId: `purge-${tenantId}-${purgeAfter.getTime()}` },
    );
  }

  private async transition(
    id: string,
    from: TenantStatus[],
    to: TenantStatus,
    event: EventType,
    extraSet: string,
  ): Promise<TenantView> {
    const row = await this.mutate(id, async (tx, current) => {
      if (!from.includes(current.status)) {
        throw tenancyError(
          TenancyErrorCode.InvalidTenantState,
          `Cannot move a tenant from ${current.status} to ${to}.`,
          { status: current.status },
        );
      }
      const [updated] = await tx.query<TenantRow>(
        `UPDATE tenants SET status = $2, ${extraSet}, updated_at = now() WHERE id = $1 RETURNING ${TENANT_COLUMNS}`,
        [id, to],
      );
      await this.event(tx, id, event, { previousStatus: current.status, status: to });
      return updated;
    });
    this.keys.forgetTenant(id);
    return toView(row);
  }

  /** Locks the tenant row and runs fn in the tenant's context, so its outbox rows pass RLS. */
  private async mutate(
    id: string,
    fn: (tx: Tx, current: TenantRow) => Promise<TenantRow>,
  ): Promise<TenantRow> {
    if (!isUuid(id)) throw tenancyError(TenancyErrorCode.TenantNotFound, 'No such tenant.');
    return this.db.tenant(id, async (tx) => fn(tx, await this.find(tx, id, true)), {
      require: 'any',
    });
  }

  private async find(tx: Tx, id: string, lock: boolean): Promise<TenantRow> {
    if (!isUuid(id)) throw tenancyError(TenancyErrorCode.TenantNotFound, 'No such tenant.');
    const [row] = await tx.query<TenantRow>(
      `SELECT ${TENANT_COLUMNS} FROM tenants WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [id],
    );
    if (!row) throw tenancyError(TenancyErrorCode.TenantNotFound, 'No such tenant.');
    return row;
  }

  private event(
    tx: Tx,
    tenantId: string,
    type: EventType,
    data: Record<string, unknown>,
  ): Promise<string> {
    return this.outbox.record(tx, tenantId, type, data);
  }

  private validateSettings(input: unknown): TenantSettings {
    const parsed = parseTenantSettings(input);
    if (!parsed.ok) {
      throw tenancyError(TenancyErrorCode.InvalidSettings, 'The settings document is not valid.', {
        errors: parsed.errors,
      });
    }
    return parsed.settings;
  }
}

/** A plan name no plan has (tenants_plan_fk) is a validation failure of the plan field. */
function unknownPlan(
  err: { code?: string; constraint?: string },
  plan: string | undefined,
): unknown {
  if (err.code === '23503' && err.constraint === 'tenants_plan_fk') {
    return commonError(CommonErrorCode.ValidationFailed, `There is no plan named "${plan}".`, {
      errors: [{ path: 'plan', message: 'no such plan (GET /v1/admin/plans lists them)' }],
    });
  }
  return err;
}

export function settingsEtag(version: number): string {
  return `"${version}"`;
}

function parseEtag(value: string): number | undefined {
  const m = /^"(\d{1,9})"$/.exec(value.trim());
  return m ? Number(m[1]) : undefined;
}

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(`${createdAt}|${id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!createdAt || !isUuid(id) || Number.isNaN(Date.parse(createdAt))) {
    throw commonError(CommonErrorCode.ValidationFailed, 'The cursor is not valid.', {
      errors: [{ path: 'cursor', message: 'not a cursor returned by this API' }],
    });
  }
  return { createdAt, id };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toView(row: TenantRow): TenantView {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    plan: row.plan,
    status: row.status,
    settingsVersion: row.settings_version,
    suspendedAt: iso(row.suspended_at),
    deletionRequestedAt: iso(row.deletion_requested_at),
    purgeAfter: iso(row.purge_after),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function toSettingsView(row: TenantRow): TenantSettingsView {
  return {
    settings: row.settings,
    version: row.settings_version,
    updatedAt: row.settings_updated_at.toISOString(),
  };
}
