import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { TenantContext } from '@app/common/context/tenant-context';
import type { Tx } from '@app/database/db';

/** Event types written to the outbox. Webhooks will deliver them; nothing does yet. */
export type EventType =
  | 'tenant.created'
  | 'tenant.updated'
  | 'tenant.settings_updated'
  | 'tenant.suspended'
  | 'tenant.resumed'
  | 'tenant.deletion_cancelled'
  | 'tenant.deletion_scheduled'
  | 'api_key.created'
  | 'api_key.revoked'
  | 'api_key.rotated'
  | 'api_key.signing_secret_rotated'
  | 'collection.created'
  | 'collection.deleted'
  | 'vectors.upserted'
  | 'vectors.deleted'
  | 'security.ip_denied'
  | 'quota.warning'
  | 'quota.exceeded'
  | 'user.created'
  | 'user.updated'
  | 'user.deleted'
  | 'auth.login_succeeded'
  | 'auth.login_failed'
  | 'auth.logout'
  | 'auth.refresh_reused'
  | 'sso_connection.created'
  | 'sso_connection.updated'
  | 'sso_connection.deleted';

/**
 * Writes an event in the caller's transaction, so the event exists exactly when the change does.
 * `data` must hold no secrets and no raw vectors: callers pass summaries.
 */
@Injectable()
export class OutboxService {
  constructor(private readonly context: TenantContext) {}

  async record(
    tx: Tx,
    tenantId: string,
    type: EventType,
    data: Record<string, unknown>,
  ): Promise<string> {
    const id = randomUUID();
    await tx.execute(
      `INSERT INTO outbox (tenant_id, id, type, data, request_id) VALUES ($1, $2, $3, $4::jsonb, $5)`,
      [tenantId, id, type, JSON.stringify(data), this.context.requestId ?? null],
    );
    return id;
  }
}
