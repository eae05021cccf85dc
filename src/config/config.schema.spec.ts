import { availableParallelism } from 'node:os';
import { ConfigError, defaultPoolSize, parseEnv } from './config.schema';

describe('parseEnv', () => {
  it('applies defaults when nothing is set', () => {
    const env = parseEnv({});
    expect(env.PORT).toBe(3000);
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.TENANT_PURGE_GRACE_HOURS).toBe(168);
    expect(env.LOG_REQUESTS).toBe(true);
    expect(env.TRUSTED_PROXIES).toEqual([]);
    expect(parseEnv({ TRUSTED_PROXIES: '10.0.0.0/8, ::1' }).TRUSTED_PROXIES).toEqual([
      '10.0.0.0/8',
      '::1',
    ]);
  });

  it('sizes the database pool from the CPU cores unless told', () => {
    expect(defaultPoolSize(2)).toBe(5);
    expect(defaultPoolSize(16)).toBe(33);
    expect(parseEnv({}).DATABASE_POOL_SIZE).toBe(2 * availableParallelism() + 1);
    expect(parseEnv({ DATABASE_POOL_SIZE: 'auto' }).DATABASE_POOL_SIZE).toBe(
      2 * availableParallelism() + 1,
    );
    expect(parseEnv({ DATABASE_POOL_SIZE: '12' }).DATABASE_POOL_SIZE).toBe(12);
    for (const bad of ['0', '501', 'many', '-1', '4.5'])
      expect(() => parseEnv({ DATABASE_POOL_SIZE: bad })).toThrow(/DATABASE_POOL_SIZE/);
  });

  it('treats empty strings as unset', () => {
    expect(parseEnv({ PORT: '', REDIS_URL: '  ' }).PORT).toBe(3000);
  });

  it('names the bad variable in the error', () => {
    expect(() => parseEnv({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => parseEnv({ PORT: 'eighty' })).toThrow(/PORT: must be a whole number/);
    expect(() => parseEnv({ PORT: '70000' })).toThrow(/PORT/);
    expect(() => parseEnv({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => parseEnv({ REDIS_URL: 'http://x' })).toThrow(/REDIS_URL/);
    expect(() => parseEnv({ MIGRATIONS_RUN: 'maybe' })).toThrow(/MIGRATIONS_RUN/);
    expect(() => parseEnv({ QUIVER_KEY_ENV: 'prod' })).toThrow(/QUIVER_KEY_ENV/);
    expect(() => parseEnv({ TRUSTED_PROXIES: '10.0.0.0/8, nonsense' })).toThrow(
      /TRUSTED_PROXIES: "nonsense"/,
    );
    expect(() => parseEnv({ TRUSTED_PROXIES: '0.0.0.0/0' })).toThrow(/TRUSTED_PROXIES/);
    expect(() => parseEnv({ QUIVER_ENCRYPTION_KEY: 'c2hvcnQ=' })).toThrow(
      /QUIVER_ENCRYPTION_KEY: must be 32 random bytes/,
    );
  });

  it('mounts the bench routes only with their baseline login', () => {
    expect(() => parseEnv({ BENCH_ROUTES: 'true' })).toThrow(
      /BENCH_ROUTES=true needs BENCH_BASELINE_DATABASE_URL/,
    );
    const url = 'postgres://quiver_bench_baseline:x@127.0.0.1:5432/b';
    expect(parseEnv({ BENCH_ROUTES: 'true', BENCH_BASELINE_DATABASE_URL: url }).BENCH_ROUTES).toBe(
      true,
    );
    expect(() => parseEnv({ BENCH_BASELINE_DATABASE_URL: 'mysql://x' })).toThrow(
      /BENCH_BASELINE_DATABASE_URL/,
    );
  });

  it('reports every bad variable at once', () => {
    try {
      parseEnv({ PORT: 'x', HNSW_M: '0' });
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect((e as Error).message).toMatch(/PORT/);
      expect((e as Error).message).toMatch(/HNSW_M/);
    }
  });
});
