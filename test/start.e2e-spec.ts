import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/**
 * The api entry point as a user starts it, as a separate process: with no DATABASE_URL and no
 * REDIS_URL it picks the embedded backends, says so, prints the platform admin token exactly once
 * (first start only), and serves the docs.
 */
describe('api entry point (src/main.ts) in embedded mode', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'quiver-start-'));
  let child: ChildProcessWithoutNullStreams | undefined;

  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function freePort(): Promise<number> {
    return new Promise((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
  }

  /** Starts src/main.ts (transpiled on the fly), waits until it listens, returns its output so far. */
  let output = '';

  async function start(port: number, extraEnv: Record<string, string> = {}): Promise<string> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      EMBEDDED_DATA_DIR: dataDir,
      ...extraEnv,
    };
    for (const k of [
      'DATABASE_URL',
      'DATABASE_OWNER_URL',
      'REDIS_URL',
      'QUIVER_BOOTSTRAP_TOKEN',
      'NODE_OPTIONS',
    ])
      delete env[k];
    env.NODE_ENV = 'production';
    env.TS_NODE_TRANSPILE_ONLY = 'true';
    child = spawn(
      process.execPath,
      ['-r', 'ts-node/register', '-r', 'tsconfig-paths/register', 'src/main.ts'],
      {
        cwd: path.resolve(__dirname, '..'),
        env,
      },
    );
    output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 60_000;
    while (!output.includes('listening on')) {
      if (child.exitCode !== null) throw new Error(`exited early:\n${output}`);
      if (Date.now() > deadline) throw new Error(`did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return output;
  }

  async function stop(): Promise<void> {
    const c = child!;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  }

  it('logs its backends and docs address, prints the admin token once, and serves /docs', async () => {
    const port = await freePort();
    const first = await start(port);
    expect(first).toContain('database: embedded PGlite + pgvector in');
    expect(first).toContain('jobs: in-process (no REDIS_URL)');
    expect(first).toContain(`docs at http://127.0.0.1:${port}/docs`);
    // Started as `node src/main.ts` in production, without the heap flag: it says how to start it.
    expect(first).toContain('node was started without --min-semi-space-size=16');
    const tokens = first.match(/qvp_live_[0-9A-Za-z]{38}/g) ?? [];
    expect(tokens).toHaveLength(1);

    const docs = await fetch(`http://127.0.0.1:${port}/docs`);
    expect(docs.status).toBe(200);
    const tenants = await fetch(`http://127.0.0.1:${port}/v1/admin/tenants`, {
      headers: { authorization: `Bearer ${tokens[0]}` },
    });
    expect(tenants.status).toBe(200);
    await stop();

    const second = await start(port, { LOG_LEVEL: 'debug', LOG_REQUESTS: 'true' });
    expect(second).not.toMatch(/qvp_live_/);
    const base = `http://127.0.0.1:${port}/v1`;
    const json = { 'content-type': 'application/json', authorization: `Bearer ${tokens[0]}` };
    const tenant = (await (
      await fetch(`${base}/admin/tenants`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ slug: 'logs-co', name: 'L' }),
      })
    ).json()) as { id: string };
    const key = (await (
      await fetch(`${base}/admin/tenants/${tenant.id}/keys`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ name: 'k', scopes: ['vectors:read'] }),
      })
    ).json()) as { secret: string };
    const res = await fetch(`${base}/collections`, {
      headers: { authorization: `Bearer ${key.secret}`, 'x-request-id': 'log-check-1' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('log-check-1');
    const refused = await fetch(`${base}/collections`, {
      headers: { authorization: 'Bearer nope', 'x-request-id': 'log-check-2' },
    });
    expect(refused.status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));

    const logged = output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // Every log line of that request carries its request id and its tenant id, and no secret.
    const lines = logged.filter((l) => l.requestId === 'log-check-1');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(line.tenantId).toBe(tenant.id);
    // The request log's line for each: method, path and the status actually sent.
    const completed = (id: string) =>
      logged.find((l) => l.requestId === id && l.msg === 'request completed');
    expect(completed('log-check-1')).toMatchObject({
      req: { method: 'GET', url: '/v1/collections' },
      res: { statusCode: 200 },
    });
    expect(completed('log-check-2')).toMatchObject({ res: { statusCode: 401 } });
    expect(output).not.toContain(key.secret);
    await stop();
  }, 150_000);

  it('refuses to start on an invalid setting and names it', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: 'eighty',
      TS_NODE_TRANSPILE_ONLY: 'true',
    };
    delete env.NODE_OPTIONS;
    const c = spawn(
      process.execPath,
      ['-r', 'ts-node/register', '-r', 'tsconfig-paths/register', 'src/main.ts'],
      {
        cwd: path.resolve(__dirname, '..'),
        env,
      },
    );
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => c.once('exit', r));
    expect(code).toBe(1);
    expect(err).toContain('PORT: must be a whole number');
    expect(err).not.toMatch(/\n\s+at /);
  }, 60_000);
});
