import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '@app/config/app-config';
import { Db } from '@app/database/db';
import { JobsService } from '@app/jobs/jobs.service';
import { COUNTED_RESOURCES, CountedResource } from './limits';

export const RECONCILE_JOB = 'quotas.reconcile';
export const RECONCILE_SCAN_JOB = 'quotas.reconcile-scan';

/** A counter that disagreed with its source table, and what it was set to. */
export interface UsageDrift {
  resource: CountedResource;
  counter: number;
  actual: number;
}

/**
 * Recomputes a tenant's usage counters from the source tables and corrects any that drifted.
 * The counters are exact by construction (decisions.md, 27); this is the check that they stay so,
 * and the repair if a bug or a manual change ever breaks them.
 */
@Injectable()
export class UsageReconciler implements OnApplicationBootstrap {
  private readonly logger = new Logger('UsageReconciler');

  constructor(
    private readonly db: Db,
    private readonly jobs: JobsService,
    private readonly config: AppConfig,
  ) {
    this.jobs.register(RECONCILE_JOB, (p) => this.reconcile(p.tenantId as string), {
      tenantScoped: true,
    });
    this.jobs.register(RECONCILE_SCAN_JOB, () => this.enqueueAll(), { tenantScoped: false });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.every(RECONCILE_SCAN_JOB, this.config.env.QUOTA_RECONCILE_INTERVAL_MS);
  }

  /** One reconcile job per tenant and interval (the job id deduplicates a scan that runs twice). */
  async enqueueAll(): Promise<number> {
    const tenants = await this.db.platform((tx) =>
      tx.query<{ id: string }>(`SELECT id FROM tenants WHERE status <> 'pending_deletion'`),
    );
    const round = Math.floor(Date.now() / this.config.env.QUOTA_RECONCILE_INTERVAL_MS);
    for (const t of tenants) {
      await this.jobs.enqueue(
        RECONCILE_JOB,
        { tenantId: t.id },
        { jobId: `reconcile-${t.id}-${round}` },
      );
    }
    return tenants.length;
  }

  /**
   * Locks the tenant's counters in the lock order, then counts the source tables: every writer
   * moves a counter before it commits and holds its row until then, so once the locks are held the
   * next statement's snapshot holds exactly the writes the counters have seen.
   */
  async reconcile(tenantId: string): Promise<UsageDrift[]> {
    const drift = await this.db.tenant(
      tenantId,
      async (tx) => {
        // Purged since the job was queued: nothing to count (jobs may run late or twice).
        const [exists] = await tx.query(`SELECT 1 FROM tenants WHERE id = $1`, [tenantId]);
        if (!exists) return [];
        await tx.execute(
          `INSERT INTO quota_usage (tenant_id, resource, used)
           SELECT $1, r, 0 FROM unnest($2::text[]) AS r ON CONFLICT (tenant_id, resource) DO NOTHING`,
          [tenantId, COUNTED_RESOURCES],
        );
        const counters = await tx.query<{ resource: CountedResource; used: string }>(
          `SELECT resource, used::text FROM quota_usage WHERE tenant_id = $1 ORDER BY resource FOR UPDATE`,
          [tenantId],
        );
        const [actual] = await tx.query<Record<CountedResource, string>>(
          `SELECT (SELECT count(*) FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL)::text AS "apiKeys",
                  (SELECT count(*) FROM collections WHERE tenant_id = $1)::text AS collections,
                  (SELECT COALESCE(sum(quiver_vector_bytes(embedding, metadata)), 0)
                     FROM vectors WHERE tenant_id = $1)::text AS "storedBytes",
                  (SELECT count(*) FROM vectors WHERE tenant_id = $1)::text AS vectors`,
          [tenantId],
        );
        const found: UsageDrift[] = [];
        for (const c of counters) {
          if (c.used !== actual[c.resource]) {
            found.push({
              resource: c.resource,
              counter: Number(c.used),
              actual: Number(actual[c.resource]),
            });
          }
        }
        for (const d of found) {
          await tx.execute(
            `UPDATE quota_usage SET used = $3, updated_at = now() WHERE tenant_id = $1 AND resource = $2`,
            [tenantId, d.resource, actual[d.resource]],
          );
        }
        return found;
      },
      { require: 'any' },
    );
    if (drift.length) this.logger.warn({ tenantId, drift }, 'usage counters drifted; corrected');
    return drift;
  }
}
