/*
 * Micro-benchmark, not a test: decisions per second for ONE key (one hot tenant, the worst case: every
 * call lands on the same Redis keys) at a fixed concurrency through one ioredis connection.
 *
 *   npx ts-node libs/rate-limit/bench-store.ts
 *
 * Env: REDIS_URL (redis://127.0.0.1:6379), BENCH_CONCURRENCY (64), BENCH_DURATION_MS (5000).
 * Keys live under a prefix unique to the run and are deleted at the end.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import {
  MemoryRateLimitStore,
  RedisRateLimitStore,
  type RateLimitStore,
  type WindowRule,
} from './index';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5000);
const PREFIX = `rl-bench:${process.pid}:${Date.now()}:`;

interface Result {
  decisionsPerSecond: number;
  admittedShare: number;
  p50Ms: number;
  p99Ms: number;
}

async function measure(store: RateLimitStore, key: string, rules: WindowRule[]): Promise<Result> {
  // Warm up: script load, JIT, connection.
  await Promise.all(Array.from({ length: CONCURRENCY }, () => store.consume(`${key}:warm`, rules)));
  const latencies: number[] = [];
  let decisions = 0;
  let admitted = 0;
  const started = performance.now();
  const end = started + DURATION_MS;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const decision = await store.consume(key, rules);
      if (decisions % 16 === 0) latencies.push(performance.now() - t0);
      decisions++;
      if (decision.allowed) admitted++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  const at = (q: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    decisionsPerSecond: Math.round((decisions * 1000) / elapsed),
    admittedShare: admitted / decisions,
    p50Ms: Number(at(0.5).toFixed(2)),
    p99Ms: Number(at(0.99).toFixed(2)),
  };
}

async function cleanup(redis: Redis): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

async function main(): Promise<void> {
  const generous: WindowRule[] = [
    { limit: 1_000_000_000, windowMs: 1000 },
    { limit: 1_000_000_000, windowMs: 60_000 },
  ];
  const tight: WindowRule[] = [
    { limit: 20, windowMs: 1000 },
    { limit: 600, windowMs: 60_000 },
  ];
  const single: WindowRule[] = [{ limit: 1_000_000_000, windowMs: 1000 }];

  const redis = new Redis(REDIS_URL);
  const autoPipelined = new Redis(REDIS_URL, { enableAutoPipelining: true });
  const scenarios: Array<[string, RateLimitStore, WindowRule[]]> = [
    [
      'redis, 2 rules (1s + 1m), all admitted',
      new RedisRateLimitStore(redis, { prefix: PREFIX }),
      generous,
    ],
    [
      'redis, 1 rule (1s), all admitted',
      new RedisRateLimitStore(redis, { prefix: PREFIX }),
      single,
    ],
    [
      'redis, 2 rules 20/s + 600/min, mostly refused',
      new RedisRateLimitStore(redis, { prefix: PREFIX }),
      tight,
    ],
    [
      'redis + enableAutoPipelining, 2 rules, all admitted',
      new RedisRateLimitStore(autoPipelined, { prefix: PREFIX }),
      generous,
    ],
    ['memory, 2 rules, all admitted', new MemoryRateLimitStore(), generous],
  ];
  console.log(`one key, concurrency ${CONCURRENCY}, ${DURATION_MS} ms per scenario, ${REDIS_URL}`);
  try {
    for (const [label, store, rules] of scenarios) {
      const result = await measure(store, `bench:${label.length}:${label.slice(0, 12)}`, rules);
      console.log(
        `${label.padEnd(52)} ${String(result.decisionsPerSecond).padStart(9)} decisions/s  ` +
          `admitted ${(result.admittedShare * 100).toFixed(1)}%  p50 ${result.p50Ms} ms  p99 ${result.p99Ms} ms`,
      );
    }
  } finally {
    await cleanup(redis);
    await Promise.all([redis.quit(), autoPipelined.quit()]);
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
