/*
 * Against the real local Redis (REDIS_URL, default redis://127.0.0.1:6379). Every key this file
 * writes starts with a prefix unique to the run, and afterAll deletes them.
 */
import { once } from 'node:events';
import Redis from 'ioredis';
import { CoalescingRedis } from './coalescing-redis';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `coalescing-test:${process.pid}:${Date.now()}:`;

interface WriteCounts {
  /** Calls that wrote one chunk. */
  single: number;
  /** Calls that wrote several chunks at once, and how many each. */
  batches: number[];
}

/** Counts the socket's write calls (net.Socket's _write and _writev), passing every call through. */
function countWrites(client: Redis): WriteCounts {
  const counts: WriteCounts = { single: 0, batches: [] };
  const socket = client.stream as unknown as {
    _write: (...args: unknown[]) => void;
    _writev: (chunks: unknown[], ...rest: unknown[]) => void;
  };
  const write = socket._write.bind(socket);
  const writev = socket._writev.bind(socket);
  socket._write = (...args) => {
    counts.single++;
    write(...args);
  };
  socket._writev = (chunks, ...rest) => {
    counts.batches.push(chunks.length);
    writev(chunks, ...rest);
  };
  return counts;
}

async function ready<T extends Redis>(client: T): Promise<T> {
  if (client.status !== 'ready') await once(client, 'ready');
  return client;
}

const options = { enableOfflineQueue: false, maxRetriesPerRequest: 2 };
const clients: Redis[] = [];
function client<T extends Redis>(c: T): T {
  clients.push(c);
  return c;
}

afterAll(async () => {
  const admin = await ready(new Redis(REDIS_URL));
  const keys = await admin.keys(`${PREFIX}*`);
  if (keys.length > 0) await admin.del(...keys);
  admin.disconnect();
  for (const c of clients) c.disconnect();
});

describe('CoalescingRedis', () => {
  it('sends the commands of one turn of the event loop in one write, answered in order', async () => {
    const redis = client(await ready(new CoalescingRedis(REDIS_URL, options)));
    const counts = countWrites(redis);
    const key = `${PREFIX}one-turn`;
    const replies = await Promise.all(Array.from({ length: 20 }, () => redis.incr(key)));
    expect(replies).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(counts).toEqual({ single: 0, batches: [20] });
  });

  it('a plain ioredis client writes the same commands one by one (the control)', async () => {
    const redis = client(await ready(new Redis(REDIS_URL, options)));
    const counts = countWrites(redis);
    const key = `${PREFIX}control`;
    await Promise.all(Array.from({ length: 20 }, () => redis.incr(key)));
    expect(counts.single + counts.batches.length).toBeGreaterThan(1);
  });

  it('does not hold a command past its turn: sequential commands each leave in their own write', async () => {
    const redis = client(await ready(new CoalescingRedis(REDIS_URL, options)));
    const counts = countWrites(redis);
    const key = `${PREFIX}sequential`;
    for (let i = 1; i <= 50; i++) expect(await redis.incr(key)).toBe(i);
    expect(counts.single + counts.batches.length).toBe(50);
  });

  it('commands issued from separate callbacks of the same turn share the write', async () => {
    const redis = client(await ready(new CoalescingRedis(REDIS_URL, options)));
    const key = `${PREFIX}callbacks`;
    const counts = countWrites(redis);
    // Two immediates queued together run in one check phase; the setImmediate that uncorks is queued
    // by the first command, so it runs in the next turn, after both. (Two timers were not reliable:
    // each takes the loop's time afresh when set, so the second can fall due a millisecond later,
    // in a later turn.)
    const fired = [1, 2].map(
      () =>
        new Promise<number>((resolve, reject) => {
          setImmediate(() => void redis.incr(key).then(resolve, reject));
        }),
    );
    expect((await Promise.all(fired)).sort()).toEqual([1, 2]);
    expect(counts).toEqual({ single: 0, batches: [2] });
  });

  it('an error answers only its own command in a batch', async () => {
    const redis = client(await ready(new CoalescingRedis(REDIS_URL, options)));
    const text = `${PREFIX}text`;
    const counter = `${PREFIX}counter`;
    await redis.set(text, 'not a number');
    const results = await Promise.allSettled([
      redis.incr(counter),
      redis.incr(text),
      redis.incr(counter),
    ]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 1 });
    expect(results[1].status).toBe('rejected');
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/not an integer/);
    expect(results[2]).toEqual({ status: 'fulfilled', value: 2 });
  });

  it('commands still in the corked socket settle, none hangs, when the connection is cut', async () => {
    const redis = client(await ready(new CoalescingRedis(REDIS_URL, options)));
    const key = `${PREFIX}cut`;
    const pending = Promise.allSettled([redis.incr(key), redis.incr(key)]);
    // Before the uncork: the two commands are queued in the socket's buffer, not yet sent.
    redis.stream.destroy();
    const deadline = new Promise<'hung'>((resolve) =>
      setTimeout(() => resolve('hung'), 5000).unref(),
    );
    const results = await Promise.race([pending, deadline]);
    expect(results).not.toBe('hung');
    for (const r of results as PromiseSettledResult<number>[]) {
      // ioredis may resend a lost command on reconnect (maxRetriesPerRequest); either way it settles.
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(Error);
      else expect([1, 2]).toContain(r.value);
    }
  });

  it('before the connection is ready a command is refused as ioredis refuses it', async () => {
    const redis = client(new CoalescingRedis(REDIS_URL, { ...options, lazyConnect: true }));
    // The first command starts the connection; with no offline queue it is refused meanwhile.
    await expect(redis.ping()).rejects.toThrow(/isn't writeable/);
    await ready(redis);
    await expect(redis.ping()).resolves.toBe('PONG');
  });
});
