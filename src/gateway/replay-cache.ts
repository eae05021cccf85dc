import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '@app/config/app-config';
import { REDIS } from '@app/redis/redis.module';

const MAX_LOCAL_ENTRIES = 200_000;

export type ClaimResult = 'first' | 'replay' | 'unavailable';

/**
 * Remembers signatures seen within the acceptance window, so the same signed request is accepted
 * once. With Redis the memory is shared by every instance (SET NX with the window as TTL); without
 * Redis (embedded mode) it is this process's. When Redis cannot answer, the caller must refuse the
 * request (fail closed): a replay check that cannot be made is not a pass.
 */
@Injectable()
export class ReplayCache {
  private readonly logger = new Logger('ReplayCache');
  private readonly local = new Map<string, number>();
  private readonly prefix: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis | null,
    config: AppConfig,
  ) {
    this.prefix = `${config.env.QUEUE_PREFIX}:sig:`;
  }

  async claim(id: string, ttlMs: number): Promise<ClaimResult> {
    if (this.redis) {
      try {
        const set = await this.redis.set(this.prefix + id, '1', 'PX', ttlMs, 'NX');
        return set === 'OK' ? 'first' : 'replay';
      } catch (err) {
        this.logger.error({ err }, 'replay cache unreachable: refusing signed requests');
        return 'unavailable';
      }
    }
    const now = Date.now();
    const until = this.local.get(id);
    if (until !== undefined && until > now) return 'replay';
    if (this.local.size >= MAX_LOCAL_ENTRIES) this.evictExpired(now);
    this.local.set(id, now + ttlMs);
    return 'first';
  }

  private evictExpired(now: number): void {
    for (const [k, until] of this.local) if (until <= now) this.local.delete(k);
    // Still full of live entries: drop the oldest rather than grow without bound.
    while (this.local.size >= MAX_LOCAL_ENTRIES) {
      const oldest = this.local.keys().next().value;
      if (oldest === undefined) break;
      this.local.delete(oldest);
    }
  }
}
