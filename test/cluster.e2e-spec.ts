import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { STARTUP_NODE_FLAGS } from '../src/runtime/v8-flags';
import { freePort } from './support/free-port';
import { appUrl, redisUrl } from './support/test-env';

/**
 * API_PROCESSES > 1: the entry point as a user starts it, a primary supervising workers that share
 * the port. Requests spread over the workers, /metrics sums them, a killed worker is replaced, one
 * that stops answering the heartbeat is killed and replaced, SIGTERM stops them all, and a worker that
 * cannot start stops the server with an error.
 */
describe('api entry point with API_PROCESSES=2 (node cluster)', () => {
  let child: ChildProcessWithoutNullStreams | undefined;
  let output = '';

  afterEach(() => {
    if (child && child.exitCode === null) {
      for (const pid of workersOf(child.pid!)) process.kill(pid, 'SIGKILL');
      child.kill('SIGKILL');
    }
  });

  function spawnApi(
    env: Record<string, string>,
    unset: string[] = [],
  ): ChildProcessWithoutNullStreams {
    const full: NodeJS.ProcessEnv = { ...process.env, ...env };
    for (const k of ['NODE_OPTIONS', ...unset]) delete full[k];
    full.NODE_ENV = 'production';
    full.TS_NODE_TRANSPILE_ONLY = 'true';
    const c = spawn(
      process.execPath,
      ['-r', 'ts-node/register', '-r', 'tsconfig-paths/register', 'src/main.ts'],
      { cwd: path.resolve(__dirname, '..'), env: full },
    );
    output = '';
    c.stdout.on('data', (d: Buffer) => (output += d.toString()));
    c.stderr.on('data', (d: Buffer) => (output += d.toString()));
    return c;
  }

  /** A two-worker api on a free port, against the test database and Redis; returns its origin. */
  async function spawnCluster(
    extra: Record<string, string> = {},
  ): Promise<{ base: string; api: ChildProcessWithoutNullStreams }> {
    const port = await freePort();
    const api = spawnApi({
      PORT: String(port),
      HOST: '127.0.0.1',
      API_PROCESSES: '2',
      DATABASE_URL: appUrl(),
      REDIS_URL: redisUrl(),
      QUEUE_PREFIX: '{quiver-cluster-test}',
      LOG_REQUESTS: 'false',
      LOG_LEVEL: 'info',
      ...extra,
    });
    child = api;
    return { base: `http://127.0.0.1:${port}`, api };
  }

  function exitOf(c: ChildProcessWithoutNullStreams): Promise<number | null> {
    if (c.exitCode !== null) return Promise.resolve(c.exitCode);
    return new Promise((resolve) => c.once('exit', (code) => resolve(code)));
  }

  /** Child processes of `pid` (the primary's workers), read from /proc. */
  function workersOf(pid: number): number[] {
    const out: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) {
          out.push(Number(entry));
        }
      } catch {
        // gone
      }
    }
    return out;
  }

  async function until(what: string, check: () => boolean | Promise<boolean>, ms = 90_000) {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (child?.exitCode !== null && child?.exitCode !== undefined)
        throw new Error(`exited (${child.exitCode}) waiting for ${what}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  const listening = () => (output.match(/listening on/g) ?? []).length;
  const atFullStrength = () => (output.match(/all api workers are listening/g) ?? []).length;

  /** The /health/live count in quiver_http_requests_total. */
  async function liveCount(base: string): Promise<number> {
    const text = await (await fetch(`${base}/metrics`)).text();
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('quiver_http_requests_total{') &&
          l.includes('route="/health/live"') &&
          l.includes('status="200"'),
      );
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  }

  it('serves from two workers, sums their metrics, replaces a dead worker and stops on SIGTERM', async () => {
    const { base, api } = await spawnCluster();
    await until('two workers listening', () => listening() >= 2);
    await until('the primary seeing both listening', () => atFullStrength() === 1);
    const workers = workersOf(api.pid!);
    expect(workers).toHaveLength(2);
    // The primary was started without the heap flags; its workers get them (decision 95).
    for (const pid of workers) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv).toEqual(expect.arrayContaining([...STARTUP_NODE_FLAGS]));
    }
    expect(readFileSync(`/proc/${api.pid!}/cmdline`, 'utf8')).not.toContain('semi-space');
    expect(output).not.toContain('was started without');

    // New connections go round robin to the workers; the scrape (on one of them) counts them all.
    const sent = 40;
    for (let i = 0; i < sent; i++) {
      const res = await fetch(`${base}/health/live`, { headers: { connection: 'close' } });
      expect(res.status).toBe(200);
    }
    expect(await liveCount(base)).toBe(sent);

    // A worker that dies is replaced; the server keeps answering meanwhile.
    process.kill(workers[0], 'SIGKILL');
    await until('a replacement worker', () => {
      const now = workersOf(api.pid!);
      return now.length === 2 && !now.includes(workers[0]);
    });
    await until('the replacement listening', () => listening() >= 3);
    expect(output).toContain('an api worker exited; starting another');
    // Down to one worker and back: the primary says again when both are listening.
    await until('full strength again', () => atFullStrength() === 2);
    for (let i = 0; i < 10; i++) {
      expect(
        (await fetch(`${base}/health/live`, { headers: { connection: 'close' } })).status,
      ).toBe(200);
    }

    const remaining = workersOf(api.pid!);
    api.kill('SIGTERM');
    expect(await exitOf(api)).toBe(0);
    for (const pid of remaining) expect(() => process.kill(pid, 0)).toThrow();
  }, 180_000);

  it('kills and replaces a worker whose event loop stops answering, and only that one', async () => {
    const { base, api } = await spawnCluster({ STALL_TIMEOUT_MS: '3000' });
    await until('two workers listening', () => listening() >= 2);
    const [stuck, healthy] = workersOf(api.pid!);

    // Answering workers outlive the timeout several times over.
    await new Promise((r) => setTimeout(r, 7_000));
    expect(workersOf(api.pid!).sort()).toEqual([stuck, healthy].sort());
    expect(output).not.toContain('api_worker_unresponsive');

    // A stopped process answers nothing, as a wedged event loop would.
    process.kill(stuck, 'SIGSTOP');
    await until('the stopped worker killed', () => !workersOf(api.pid!).includes(stuck));
    await until('a replacement listening', () => listening() >= 3);
    expect(output).toContain('an api worker stopped answering; killing it');
    expect(output).toMatch(/"alert":"api_worker_unresponsive"/);
    expect(workersOf(api.pid!)).toContain(healthy);
    expect(workersOf(api.pid!)).toHaveLength(2);
    for (let i = 0; i < 10; i++) {
      expect(
        (await fetch(`${base}/health/live`, { headers: { connection: 'close' } })).status,
      ).toBe(200);
    }

    api.kill('SIGTERM');
    expect(await exitOf(api)).toBe(0);
  }, 180_000);

  it('stops with an error when a worker cannot start', async () => {
    child = spawnApi({
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      API_PROCESSES: '2',
      DATABASE_URL: appUrl(),
      REDIS_URL: redisUrl(),
      // Checked by each worker at boot, after config parsing: the workers fail, not the primary.
      QUIVER_BOOTSTRAP_TOKEN: 'not-a-token',
    });
    expect(await exitOf(child)).toBe(1);
    expect(output).toContain('an api worker failed to start; stopping');
    expect(output).toContain('QUIVER_BOOTSTRAP_TOKEN');
  }, 120_000);

  it('refuses more than one process without DATABASE_URL and REDIS_URL', async () => {
    child = spawnApi({ PORT: String(await freePort()), API_PROCESSES: '2' }, [
      'DATABASE_URL',
      'DATABASE_OWNER_URL',
      'REDIS_URL',
    ]);
    expect(await exitOf(child)).toBe(1);
    expect(output).toContain(
      'API_PROCESSES: more than one api process needs DATABASE_URL and REDIS_URL',
    );
  }, 60_000);
});
