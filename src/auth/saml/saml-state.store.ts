import { Inject, Injectable } from '@nestjs/common';
import type { CacheItem, CacheProvider } from '@node-saml/passport-saml';
import type Redis from 'ioredis';
import { LocalTtlMap } from '@app/common/local-ttl-map';
import { AppConfig } from '@app/config/app-config';
import { REDIS } from '@app/redis/redis.module';

const MAX_LOCAL = 50_000;

/**
 * What SAML logins must remember across requests and instances: the IDs of AuthnRequests sent and
 * not yet answered (node-saml's InResponseTo cache), and the IDs of assertions already used (the
 * replay cache). In Redis when there is one, so a login may start on one instance, finish on
 * another, and a response replayed to a second instance is still caught; in memory otherwise.
 * Every key names its connection: a request ID issued for one connection answers no other.
 */
@Injectable()
export class SamlStateStore {
  private readonly prefix: string;
  private readonly local = new LocalTtlMap<string>(MAX_LOCAL);

  constructor(
    @Inject(REDIS) private readonly redis: Redis | null,
    config: AppConfig,
  ) {
    this.prefix = `${config.env.QUEUE_PREFIX}:saml:`;
  }

  /** node-saml's cache of outstanding request IDs, for one connection, entries living `ttlMs`. */
  requestIds(connectionId: string, ttlMs: number): CacheProvider {
    const key = (id: string) => `req:${connectionId}:${id}`;
    return {
      saveAsync: async (id: string, value: string): Promise<CacheItem | null> => {
        await this.put(key(id), value, ttlMs);
        return { value, createdAt: Date.now() };
      },
      getAsync: (id: string): Promise<string | null> => this.get(key(id)),
      removeAsync: async (id: string | null): Promise<string | null> => {
        if (!id) return null;
        return (await this.del(key(id))) ? id : null;
      },
    };
  }

  /**
   * Records that this assertion was used; false when it already was (a replay). One atomic step
   * (SET NX), so two instances given the same assertion at the same moment cannot both win.
   */
  async claimAssertion(connectionId: string, assertionId: string, ttlMs: number): Promise<boolean> {
    const key = `seen:${connectionId}:${assertionId}`;
    const ttl = Math.max(1000, Math.ceil(ttlMs));
    if (this.redis) {
      return (await this.redis.set(this.prefix + key, '1', 'PX', ttl, 'NX')) === 'OK';
    }
    if (this.local.get(key) !== undefined) return false;
    this.local.set(key, '1', ttl);
    return true;
  }

  private async put(key: string, value: string, ttlMs: number): Promise<void> {
    if (this.redis) await this.redis.set(this.prefix + key, value, 'PX', ttlMs);
    else this.local.set(key, value, ttlMs);
  }

  private async get(key: string): Promise<string | null> {
    if (this.redis) return this.redis.get(this.prefix + key);
    return this.local.get(key) ?? null;
  }

  private async del(key: string): Promise<boolean> {
    if (this.redis) return (await this.redis.del(this.prefix + key)) > 0;
    return this.local.take(key) !== undefined;
  }
}
