import { isUuid } from '@app/common/uuid';

export interface KeyUse {
  tenantId: string;
  keyId: string;
  at: Date;
}

/**
 * One UPDATE of api_keys.last_used_at per tenant, values inlined for Db.perTenant (one round trip for
 * all tenants): key ids must be UUIDs and times come from Date, so nothing else reaches the SQL.
 */
export function lastUsedStatements(
  uses: Iterable<KeyUse>,
): Array<{ tenantId: string; sql: string }> {
  const byTenant = new Map<string, string[]>();
  for (const { tenantId, keyId, at } of uses) {
    if (!isUuid(keyId) || !isUuid(tenantId) || Number.isNaN(at.getTime())) continue;
    const rows = byTenant.get(tenantId) ?? [];
    rows.push(`('${keyId}'::uuid, '${at.toISOString()}'::timestamptz)`);
    byTenant.set(tenantId, rows);
  }
  // Tenants and keys in a fixed order, so two instances flushing at once take row locks in the same
  // order and cannot deadlock each other.
  return [...byTenant]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([tenantId, rows]) => ({
      tenantId,
      sql:
        `UPDATE api_keys k SET last_used_at = GREATEST(k.last_used_at, u.at) ` +
        `FROM (VALUES ${rows.sort().join(', ')}) AS u(id, at) WHERE k.id = u.id`,
    }));
}
