import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { LocalTtlMap } from '@app/common/local-ttl-map';
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
  private readonly local = new LocalTtlMap<true>(MAX_LOCAL_ENTRIES);
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
    if (this.local.get(id) !== undefined) return 'replay';
    this.local.set(id, true, ttlMs);
    return 'first';
  }
}
