import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '@app/config/app-config';
import { REDIS } from '@app/redis/redis.module';
import { KeyCache } from './key-cache';

const CHANNEL_SUFFIX = 'keys:invalidate';

/**
 * Tells every api instance to drop cached key lookups. The instance that made the change drops its
 * own entries synchronously, before the API call returns; the others hear it over Redis pub/sub
 * (within milliseconds) and, if a message is lost, the cache TTL bounds how long a stale entry lives.
 */
@Injectable()
export class KeyInvalidationService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('KeyInvalidation');
  readonly cache: KeyCache;
  private subscriber?: Redis;
  private readonly channel: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis | null,
    config: AppConfig,
  ) {
    this.cache = new KeyCache(
      config.env.API_KEY_CACHE_TTL_MS,
      Math.min(2000, config.env.API_KEY_CACHE_TTL_MS),
    );
    this.channel = `${config.env.QUEUE_PREFIX}:${CHANNEL_SUFFIX}`;
  }

  async onModuleInit(): Promise<void> {
    if (!this.redis) return;
    this.subscriber = this.redis.duplicate({
      enableOfflineQueue: true,
      enableAutoPipelining: false,
    });
    this.subscriber.on('error', (err) =>
      this.logger.warn({ err }, 'invalidation subscriber error'),
    );
    this.subscriber.on('message', (_channel: string, message: string) => this.apply(message));
    await this.subscriber.subscribe(this.channel).catch((err: Error) => {
      this.logger.warn(
        { err },
        'could not subscribe to key invalidations; relying on the cache TTL',
      );
    });
  }

  onApplicationShutdown(): void {
    // A subscriber has nothing to flush: drop the connection, even if Redis is unreachable.
    this.subscriber?.disconnect();
  }

  key(keyId: string): void {
    this.cache.invalidateKey(keyId);
    this.publish(`key:${keyId}`);
  }

  tenant(tenantId: string): void {
    this.cache.invalidateTenant(tenantId);
    this.publish(`tenant:${tenantId}`);
  }

  /** Every cached lookup (a plan changed: its limits ride on every key of its tenants). */
  all(): void {
    this.cache.clear();
    this.publish('all:*');
  }

  private publish(message: string): void {
    this.redis?.publish(this.channel, message).catch((err: Error) => {
      this.logger.warn(
        { err },
        'could not publish a key invalidation; other instances rely on the cache TTL',
      );
    });
  }

  private apply(message: string): void {
    const [kind, id] = message.split(':', 2);
    if (kind === 'key' && id) this.cache.invalidateKey(id);
    else if (kind === 'tenant' && id) this.cache.invalidateTenant(id);
    else if (kind === 'all') this.cache.clear();
  }
}
