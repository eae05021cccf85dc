import { Injectable } from '@nestjs/common';
import { Db, Tx } from '@app/database/db';
import { KeyInvalidationService } from '@app/keys/key-invalidation.service';
import { LIMIT_NAMES, PLAN_NAME_RE, PlanLimits } from './limits';
import { CreatePlanDto, PlanView, UpdatePlanDto } from './dto/plan.dto';
import { QuotasErrorCode, quotasError } from './quotas.errors';

interface PlanRow {
  name: string;
  description: string;
  limits: PlanLimits;
  tenant_count: number;
  created_at: Date;
  updated_at: Date;
}

const PLAN_COLUMNS = `p.name, p.description, p.limits, p.created_at, p.updated_at,
  (SELECT count(*)::int FROM tenants t WHERE t.plan = p.name) AS tenant_count`;

/** Plans: named sets of limits (platform admin only). */
@Injectable()
export class PlansService {
  constructor(
    private readonly db: Db,
    private readonly keyCache: KeyInvalidationService,
  ) {}

  async create(dto: CreatePlanDto): Promise<PlanView> {
    const limits = pickLimits(dto.limits as unknown as Record<string, number | null>);
    return this.db.platform(async (tx) => {
      const inserted = await tx.execute(
        `INSERT INTO plans (name, description, limits) VALUES ($1, $2, $3::jsonb) ON CONFLICT (name) DO NOTHING`,
        [dto.name, dto.description ?? '', JSON.stringify(limits)],
      );
      if (inserted === 0)
        throw quotasError(QuotasErrorCode.PlanExists, `A plan named "${dto.name}" exists.`);
      return toView(await this.find(tx, dto.name));
    });
  }

  async list(): Promise<PlanView[]> {
    const rows = await this.db.platform((tx) =>
      tx.query<PlanRow>(`SELECT ${PLAN_COLUMNS} FROM plans p ORDER BY p.created_at, p.name`),
    );
    return rows.map(toView);
  }

  async get(name: string): Promise<PlanView> {
    return this.db.platform(async (tx) => toView(await this.find(tx, name)));
  }

  /**
   * Changes take effect on the next write of every tenant on the plan, and on the next request for
   * the rate-shaped limits (cached key lookups carry them, so they are dropped on every instance).
   */
  async update(name: string, dto: UpdatePlanDto): Promise<PlanView> {
    const view = await this.db.platform(async (tx) => {
      const current = await this.find(tx, name, true);
      const patch = pickLimits((dto.limits ?? {}) as Record<string, number | null | undefined>);
      await tx.execute(
        `UPDATE plans SET description = COALESCE($2, description), limits = $3::jsonb, updated_at = now()
          WHERE name = $1`,
        [name, dto.description ?? null, JSON.stringify({ ...current.limits, ...patch })],
      );
      return toView(await this.find(tx, name));
    });
    this.keyCache.all();
    return view;
  }

  /** Only a plan no tenant is on can go (the foreign key from tenants.plan says so). */
  async delete(name: string): Promise<void> {
    await this.db.platform(async (tx) => {
      await this.find(tx, name, true);
      await tx
        .execute(`DELETE FROM plans WHERE name = $1`, [name])
        .catch((err: { code?: string }) => {
          if (err.code === '23503')
            throw quotasError(
              QuotasErrorCode.PlanInUse,
              `Tenants are on plan "${name}": move them to another plan first.`,
            );
          throw err;
        });
    });
  }

  private async find(tx: Tx, name: string, lock = false): Promise<PlanRow> {
    const [row] = PLAN_NAME_RE.test(name)
      ? await tx.query<PlanRow>(
          `SELECT ${PLAN_COLUMNS} FROM plans p WHERE p.name = $1${lock ? ' FOR UPDATE OF p' : ''}`,
          [name],
        )
      : [];
    if (!row) throw quotasError(QuotasErrorCode.PlanNotFound, `No plan named "${name}".`);
    return row;
  }
}

/** Only known limit names reach the database (the DTO already refused others). */
function pickLimits(input: Record<string, number | null | undefined>): Partial<PlanLimits> {
  const out: Partial<PlanLimits> = {};
  for (const name of LIMIT_NAMES) if (input[name] !== undefined) out[name] = input[name];
  return out;
}

function toView(row: PlanRow): PlanView {
  return {
    name: row.name,
    description: row.description,
    limits: {
      ...Object.fromEntries(LIMIT_NAMES.map((n) => [n, null])),
      ...row.limits,
    },
    tenantCount: row.tenant_count,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
