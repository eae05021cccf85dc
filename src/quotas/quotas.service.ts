import { Injectable, Logger } from '@nestjs/common';
import { AppException } from '@app/common/errors/app-exception';
import { AppConfig } from '@app/config/app-config';
import { Db, TenantTxOptions, Tx } from '@app/database/db';
import { OutboxService } from '@app/events/outbox.service';
import { MetricsService } from '@app/metrics/metrics.service';
import {
  CountedResource,
  COUNTED_RESOURCES,
  effectiveLimits,
  EffectiveLimit,
  judge,
  LIMIT_NAMES,
  LimitName,
  PlanLimits,
} from './limits';
import { QuotasErrorCode, quotasError } from './quotas.errors';
import { QuotaView } from './dto/quota.response';

export interface TenantLimits {
  plan: string;
  warningPercent: number;
  limits: Record<LimitName, EffectiveLimit>;
}

interface CounterRow {
  resource: CountedResource;
  used: string;
  delta: string;
  limit: number | null;
  warning_percent: number;
}

/**
 * Limits and their enforcement. Counters move in the writer's transaction (quiver_usage_add, and
 * the vectors triggers), which locks the tenant's counter row until commit; enforce() then reads
 * the counter as this transaction left it. Concurrent writers are thereby ordered: each sees the
 * others' committed usage plus its own change, and a write that would end above the limit throws,
 * rolling back the write and the counter with it. Nothing commits over a limit.
 */
@Injectable()
export class QuotasService {
  private readonly logger = new Logger('Quotas');

  constructor(
    private readonly db: Db,
    private readonly outbox: OutboxService,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * A tenant transaction whose quota refusal is also recorded: the refused write rolls back whole,
   * then a quota.exceeded event is written in a transaction of its own.
   */
  async write<T>(
    tenantId: string,
    fn: (tx: Tx) => Promise<T>,
    options?: TenantTxOptions,
  ): Promise<T> {
    try {
      return await this.db.tenant(tenantId, fn, options);
    } catch (err) {
      if (err instanceof AppException && err.code === (QuotasErrorCode.QuotaExceeded as string)) {
        this.metrics.quotaRejected(String(err.extra.resource));
        await this.db
          .tenant(tenantId, (tx) => this.outbox.record(tx, tenantId, 'quota.exceeded', err.extra), {
            require: 'any',
          })
          .catch((recordErr: unknown) =>
            this.logger.warn({ err: recordErr, tenantId }, 'could not record quota.exceeded'),
          );
      }
      throw err;
    }
  }

  /** Moves a counter by delta in the caller's transaction (locks the counter row until commit). */
  async add(tx: Tx, tenantId: string, resource: CountedResource, delta: number): Promise<void> {
    await tx.query(`SELECT quiver_usage_add($1, $2, $3)`, [tenantId, resource, delta]);
  }

  /**
   * After the write: refuses it when it raised a counter above its limit, and writes a
   * quota.warning event when it carried a counter across the warning threshold.
   */
  async enforce(tx: Tx, tenantId: string, resources: CountedResource[]): Promise<void> {
    const rows = await tx.query<CounterRow>(
      `SELECT u.resource, u.used::text AS used,
              COALESCE(NULLIF(current_setting('quiver.usage_delta_' || u.resource, true), ''), '0') AS delta,
              CASE WHEN t.settings #> '{quotas,limits}' ? u.resource
                   THEN t.settings #> ARRAY['quotas', 'limits', u.resource]
                   ELSE p.limits -> u.resource END AS limit,
              COALESCE((t.settings #>> '{quotas,warningPercent}')::int, $3::int) AS warning_percent
         FROM quota_usage u JOIN tenants t ON t.id = u.tenant_id JOIN plans p ON p.name = t.plan
        WHERE u.tenant_id = $1 AND u.resource = ANY($2::text[])
        ORDER BY u.resource`,
      [tenantId, resources, this.config.env.QUOTA_WARNING_PERCENT],
    );
    const warnings: CounterRow[] = [];
    for (const row of rows) {
      const used = Number(row.used);
      const delta = Number(row.delta);
      const verdict = judge(used, delta, row.limit, row.warning_percent);
      if (verdict === 'refuse') {
        throw quotasError(
          QuotasErrorCode.QuotaExceeded,
          `This request would take ${row.resource} to ${used}; the limit is ${row.limit}. ` +
            'Delete some, or ask for a higher limit.',
          { resource: row.resource, limit: row.limit, usage: used - delta, requested: delta },
        );
      }
      if (verdict === 'warn') warnings.push(row);
    }
    for (const row of warnings) {
      await this.outbox.record(tx, tenantId, 'quota.warning', {
        resource: row.resource,
        limit: row.limit,
        usage: Number(row.used),
        warningPercent: row.warning_percent,
      });
    }
  }

  /** The plan's limits merged with the tenant's overrides, read in the caller's transaction. */
  async limits(tx: Tx, tenantId: string): Promise<TenantLimits> {
    const [row] = await tx.query<{
      plan: string;
      limits: Partial<PlanLimits>;
      overrides: Partial<PlanLimits> | null;
      warning_percent: number | null;
    }>(
      `SELECT p.name AS plan, p.limits, t.settings #> '{quotas,limits}' AS overrides,
              (t.settings #>> '{quotas,warningPercent}')::int AS warning_percent
         FROM tenants t JOIN plans p ON p.name = t.plan WHERE t.id = $1`,
      [tenantId],
    );
    if (!row) throw new Error(`tenant ${tenantId} is not visible in this transaction`);
    return {
      plan: row.plan,
      warningPercent: row.warning_percent ?? this.config.env.QUOTA_WARNING_PERCENT,
      limits: effectiveLimits(row.limits, row.overrides ?? undefined),
    };
  }

  /** A static limit: refuses a collection wider than the tenant may create. */
  async assertDimension(tx: Tx, tenantId: string, dimension: number): Promise<void> {
    const { limits } = await this.limits(tx, tenantId);
    const { limit } = limits.dimensionsPerCollection;
    if (limit !== null && dimension > limit) {
      throw quotasError(
        QuotasErrorCode.QuotaExceeded,
        `A collection may have at most ${limit} dimensions on this tenant's plan; ${dimension} were asked for.`,
        { resource: 'dimensionsPerCollection', limit, usage: 0, requested: dimension },
      );
    }
  }

  /** Current usage against the effective limits. */
  async view(tenantId: string, options?: TenantTxOptions): Promise<QuotaView> {
    return this.db.tenant(
      tenantId,
      async (tx) => {
        const limits = await this.limits(tx, tenantId);
        const counters = await tx.query<{ resource: string; used: string }>(
          `SELECT resource, used::text FROM quota_usage WHERE tenant_id = $1`,
          [tenantId],
        );
        const used = new Map(counters.map((c) => [c.resource, Number(c.used)]));
        return {
          plan: limits.plan,
          warningPercent: limits.warningPercent,
          limits: LIMIT_NAMES.map((name) => ({
            name,
            limit: limits.limits[name].limit,
            source: limits.limits[name].source,
            used: (COUNTED_RESOURCES as readonly string[]).includes(name)
              ? (used.get(name) ?? 0)
              : null,
          })),
        };
      },
      options,
    );
  }
}
