import { Injectable, Logger } from '@nestjs/common';
import { Db } from '@app/database/db';
import { EventType, OutboxService } from '@app/events/outbox.service';

const THROTTLE_MS = 60_000;
const MAX_TRACKED = 10_000;

/**
 * Security events (a refused client address, later signature failures and the like) go to the
 * tenant's outbox, where alerting and webhooks pick them up. Refusals are cheap for an attacker to
 * repeat, so the same event for the same tenant and source is written at most once a minute per
 * instance: a flood of refusals cannot turn into a flood of writes.
 */
@Injectable()
export class SecurityEventsService {
  private readonly logger = new Logger('SecurityEvents');
  private readonly lastWritten = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly outbox: OutboxService,
  ) {}

  async record(
    tenantId: string,
    type: EventType,
    source: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    const key = `${tenantId}|${type}|${source}`;
    const now = Date.now();
    const last = this.lastWritten.get(key);
    this.logger.warn({ tenantId, type, source, ...data }, 'security event');
    if (last !== undefined && now - last < THROTTLE_MS) return;
    if (this.lastWritten.size >= MAX_TRACKED) this.lastWritten.clear();
    this.lastWritten.set(key, now);
    try {
      await this.db.tenant(tenantId, (tx) => this.outbox.record(tx, tenantId, type, data), {
        require: 'any',
      });
    } catch (err) {
      this.logger.error({ err, tenantId, type }, 'could not record a security event');
    }
  }
}
