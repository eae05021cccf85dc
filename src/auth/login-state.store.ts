import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { LocalTtlMap } from '@app/common/local-ttl-map';
import { AppConfig } from '@app/config/app-config';
import { REDIS } from '@app/redis/redis.module';

const MAX_LOCAL = 10_000;

/**
 * Short-lived, single-use values of a login in progress (OIDC state, nonce and PKCE verifier; the
 * one-time code that hands the finished login over). In Redis when there is one, so a login may
 * start on one instance and finish on another; in memory in embedded mode.
 */
@Injectable()
export class LoginStateStore {
  private readonly prefix: string;
  private readonly local = new LocalTtlMap<string>(MAX_LOCAL);

  constructor(
    @Inject(REDIS) private readonly redis: Redis | null,
    config: AppConfig,
  ) {
    this.prefix = `${config.env.QUEUE_PREFIX}:login:`;
  }

  async put(key: string, value: unknown, ttlMs: number): Promise<void> {
    const json = JSON.stringify(value);
    if (this.redis) {
      await this.redis.set(this.prefix + key, json, 'PX', ttlMs);
      return;
    }
    this.local.set(key, json, ttlMs);
  }

  /** Reads and deletes in one step: a value can be taken once. */
  async take<T>(key: string): Promise<T | undefined> {
    let json: string | null | undefined;
    if (this.redis) {
      json = await this.redis.getdel(this.prefix + key);
    } else {
      json = this.local.take(key);
    }
    return json ? (JSON.parse(json) as T) : undefined;
  }
}
