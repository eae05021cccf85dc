import Redis from 'ioredis';

export const REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Deletes the keys the server left under its queue prefix (BullMQ's queues and job schedulers), so a
 * run leaves nothing behind in the shared Redis. Only keys starting with `${prefix}:` are touched.
 */
export async function deleteQueueKeys(prefix: string): Promise<number> {
  if (!/^\{[A-Za-z0-9_.:-]+\}$/.test(prefix)) throw new Error(`bad queue prefix: ${prefix}`);
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${escapeGlob(prefix)}:*`,
        'COUNT',
        500,
      );
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** Redis glob characters in the prefix must match literally (braces are not special). */
function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
