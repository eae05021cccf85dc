import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '@app/config/app-config';
import { withTimeout } from '@app/common/with-timeout';

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
          ? new Redis(config.redisUrl, {
              maxRetriesPerRequest: 2,
              enableOfflineQueue: false,
              lazyConnect: false,
              // Commands issued in the same tick (concurrent requests' limiter calls, replay-cache
              // claims) leave in one write: on this machine a write syscall costs more than the
              // command, and this halved the limiter's writes per request.
              enableAutoPipelining: true,
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
