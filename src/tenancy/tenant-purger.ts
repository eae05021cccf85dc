import { Injectable, Logger } from '@nestjs/common';
import { Db } from '@app/database/db';
import { lockPartitionDdl } from '@app/database/partition-ddl';

/** Tables holding tenant rows, children first. The isolation test checks this list is complete. */
export const TENANT_OWNED_TABLES = [
  'vectors',
  'collections',
  'api_keys',
  'refresh_tokens',
  'user_identities',
  'users',
  'sso_connections',
  'outbox',
  'usage_rollups',
  'usage_storage',
  // Last: deleting vectors moves the counters (triggers), which would re-create deleted rows.
  'quota_usage',
] as const;

/**
 * Removes every row of a tenant whose grace period is over, in one transaction, inside that
 * tenant's context: row-level security keeps a purge from touching any other tenant.
 */
@Injectable()
export class TenantPurger {
  private readonly logger = new Logger('TenantPurger');

  constructor(private readonly db: Db) {}

  async purgeCurrentTenant(tenantId: string): Promise<boolean> {
    const purged = await this.db.tenant(
      tenantId,
      async (tx) => {
        const [tenant] = await tx.query<{ status: string; due: boolean }>(
          `SELECT status, purge_after <= now() AS due FROM tenants WHERE id = $1 FOR UPDATE`,
          [tenantId],
        );
        // Resumed, not yet due, or already purged: nothing to do (jobs may run more than once).
        if (!tenant || tenant.status !== 'pending_deletion' || !tenant.due) return false;
        await lockPartitionDdl(tx);
        const collections = await tx.query<{ id: string }>(`SELECT id FROM collections`);
        for (const c of collections)
          await tx.query(`SELECT quiver_drop_collection_partition($1)`, [c.id]);
        for (const table of TENANT_OWNED_TABLES) {
          await tx.execute(`DELETE FROM ${table} WHERE tenant_id = $1`, [tenantId]);
        }
        await tx.execute(`DELETE FROM tenants WHERE id = $1`, [tenantId]);
        return true;
      },
      { require: 'any' },
    );
    if (purged) this.logger.log({ tenantId }, 'tenant purged');
    return purged;
  }
}
