import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as path from 'node:path';
import { eventually, startApp, TestApp } from './support/harness';

/**
 * The worker entry point (src/worker.ts) as its own process: it consumes the BullMQ queue that the
 * api (here without a worker of its own) feeds, against the same Postgres and Redis.
 */
describe('worker process', () => {
  let api: TestApp;
  let worker: ChildProcessWithoutNullStreams | undefined;
  let output = '';

  beforeAll(async () => {
    api = await startApp();
  });
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await api.close();
  });

  function spawnWorker(env: NodeJS.ProcessEnv): ChildProcessWithoutNullStreams {
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register', '-r', 'tsconfig-paths/register', 'src/worker.ts'],
      {
        cwd: path.resolve(__dirname, '..'),
        env: { ...env, TS_NODE_TRANSPILE_ONLY: 'true', NODE_OPTIONS: '' },
      },
    );
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    return child;
  }

  it('purges a tenant deleted with ?purge=now through the api', async () => {
    output = '';
    worker = spawnWorker({ ...process.env, LOG_LEVEL: 'info', NODE_ENV: 'production' });
    await eventually(
      () => Promise.resolve(output),
      (o) => o.includes('worker started'),
      30_000,
    );
    const tenant = await api.createTenant('worker');
    await tenant.collection('c', 2);
    await tenant.upsert('c', [{ id: 'x', values: [1, 2] }]);
    expect((await api.admin('DELETE', `/tenants/${tenant.id}?purge=now`)).status).toBe(202);
    const gone = await eventually(
      () => api.admin('GET', `/tenants/${tenant.id}`),
      (r) => r.status === 404,
      20_000,
    );
    expect(gone.body.code).toBe('tenant_not_found');
    const exited = new Promise((r) => worker!.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
    worker = undefined;
  }, 60_000);

  it('refuses to start without REDIS_URL and says why', async () => {
    output = '';
    const env = { ...process.env };
    delete env.REDIS_URL;
    const child = spawnWorker(env);
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(output).toContain('REDIS_URL: the worker needs Redis');
  }, 30_000);
});
