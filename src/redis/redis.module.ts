import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '@app/config/app-config';
import { withTimeout } from '@libs/timeout';
import { CoalescingRedis } from './coalescing-redis';

export const REDIS = Symbol('REDIS');

/** One shared ioredis client when REDIS_URL is set, null otherwise (embedded/in-process mode). */
@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [AppConfig],
      useFactory: (config: AppConfig): Redis | null =>
        config.redisUrl
          ? // Commands issued in the same turn of the event loop (concurrent requests' limiter calls)
            // leave in one write: on this machine a write syscall costs more than the command.
            // CoalescingRedis does that by corking the socket; ioredis's enableAutoPipelining did it
            // with a Pipeline object per batch that cost more in garbage collection (decision 75).
            new CoalescingRedis(config.redisUrl, {
              maxRetriesPerRequest: 2,
              enableOfflineQueue: false,
              lazyConnect: false,
            })
          : null,
    },
  ],
  exports: [REDIS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis | null) {}

  async onApplicationShutdown(): Promise<void> {
    if (!this.redis) return;
    // QUIT when Redis answers; when it does not, stop reconnecting rather than hang the shutdown.
    await withTimeout(this.redis.quit(), 2000).catch(() => this.redis?.disconnect());
  }
}
