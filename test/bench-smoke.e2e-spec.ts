import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parseBenchResults } from '../bench/results-schema';

/**
 * Benchmarks never run in `npm test`; this only checks that the harness starts, drives the app and
 * writes well-formed results, on a tiny data set (--quick --smoke).
 */
describe('npm run bench -- --quick --smoke', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'quiver-bench-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes results that match the schema, with unbuilt scenarios marked as such', async () => {
    const out = path.join(dir, 'results.json');
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    await promisify(execFile)('npm', ['run', 'bench', '--', '--quick', '--smoke', '--out', out], {
      cwd: path.resolve(__dirname, '..'),
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    const results = parseBenchResults(JSON.parse(readFileSync(out, 'utf8')));
    expect(results.smoke).toBe(true);
    expect(results.serverProcesses).toBe(1);
    const rows = new Map(results.rows.map((r) => [r.id, r]));
    for (const id of [
      'bare',
      'rate-limiting-off',
      'rate-limiting',
      'rate-limiting-enforced',
      'rate-limiting-off-2p',
      'rate-limiting-2p',
      'rate-limiting-enforced-2p',
      'tenant-context-api-c1',
      'tenant-context-none-c1',
      'validation-unguarded',
      'validation-full',
      'search-exact',
      'search-approx',
      'tenants-random',
    ]) {
      expect(rows.get(id)?.status).toBe('measured');
    }
    expect(rows.get('audit')?.status).toBe('not built');
    // Every signed request was accepted: the load generator signs each one anew.
    expect(rows.get('validation-full')!.result!.errors.total).toBe(0);
    expect(results.goals.find((g) => g.id === 'validation-overhead-p99')?.value).not.toBeNull();
    // The tenant-context baseline route answered every request (a 404 would mean BENCH_ROUTES is off).
    expect(rows.get('tenant-context-none-c1')!.result!.errors.total).toBe(0);
    expect(rows.get('tenant-context-none-c1')!.result!.requests).toBeGreaterThan(0);
    // The enforced row answered only 2xx and 429, and admitted some of each.
    const enforced = rows.get('rate-limiting-enforced')!.result!;
    expect(Object.keys(enforced.statusCodes).sort()).toEqual(['200', '429']);
    expect(results.goals.find((g) => g.id === 'rate-limiting-accuracy')?.value).not.toBeNull();
    // The same on the API_PROCESSES=2 server: the workers share one limit through Redis.
    const enforced2 = rows.get('rate-limiting-enforced-2p')!;
    expect(enforced2.serverProcesses).toBe(2);
    expect(Object.keys(enforced2.result!.statusCodes).sort()).toEqual(['200', '429']);
    // The limiter-off rows (servers with RATE_LIMIT_ENABLED=false, which limiterOff checks before it
    // measures) answered every request with a 2xx; the limiter-on rows are compared with them.
    for (const [off, on] of [
      ['rate-limiting-off', 'rate-limiting'],
      ['rate-limiting-off-2p', 'rate-limiting-2p'],
    ]) {
      expect(rows.get(off)!.result!.errors.total).toBe(0);
      expect(rows.get(off)!.serverSettings).toEqual({ RATE_LIMIT_ENABLED: 'false' });
      expect(rows.get(on)!.serverSettings).toBeUndefined();
      expect(rows.get(on)!.baselines.map((b) => b.id)).toContain(off);
    }
    expect(rows.get('rate-limiting-off-2p')!.serverProcesses).toBe(2);
    expect(results.recall.atDefault).toBeGreaterThan(0);
    expect(results.recall.atDefault).toBeLessThanOrEqual(1);
  }, 240_000);
});
