import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { generateSecret } from '@libs/api-key';
import { Db } from '@app/database/db';
import { PlatformAuthService } from '@app/platform/platform-auth.service';
import { startApp, TestApp } from './support/harness';

/**
 * The embedded default: no DATABASE_URL and no REDIS_URL. PGlite with pgvector, persisted in a
 * directory, migrated at start, isolated by the same role switch and RLS as production.
 */
describe('embedded mode (PGlite, no DATABASE_URL, no REDIS_URL)', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'quiver-embedded-'));
  const platformToken = generateSecret('qvp', 'test').secret;
  const env = {
    DATABASE_URL: '',
    DATABASE_OWNER_URL: '',
    REDIS_URL: '',
    EMBEDDED_DATA_DIR: dataDir,
    QUIVER_BOOTSTRAP_TOKEN: platformToken,
  };
  let api: TestApp | undefined;

  async function boot(): Promise<TestApp> {
    const app = await startApp(env);
    await app.app.get(PlatformAuthService).bootstrap();
    return app;
  }

  afterAll(async () => {
    await api?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('boots, migrates, serves a round trip and keeps the data across a restart', async () => {
    api = await boot();
    expect(api.jobs.backend).toBe('inline');
    const admin = (method: string, p: string, body?: unknown) =>
      api!.request(method, `/v1/admin${p}`, { token: platformToken, body });

    const t = await admin('POST', '/tenants', { slug: 'embedded-co', name: 'Embedded Co' });
    expect(t.status).toBe(201);
    const k = await admin('POST', `/tenants/${t.body.id}/keys`, {
      name: 'admin',
      scopes: ['tenant:admin'],
    });
    const key = k.body.secret as string;
    const call = (method: string, p: string, body?: unknown) =>
      api!.request(method, `/v1${p}`, { token: key, body });

    expect(
      (await call('POST', '/collections', { name: 'notes', dimension: 4, metric: 'l2' })).status,
    ).toBe(201);
    const up = await call('POST', '/collections/notes/vectors', {
      vectors: [
        { id: 'near', values: [1, 1, 1, 1], metadata: { kind: 'a' } },
        { id: 'far', values: [9, 9, 9, 9], metadata: { kind: 'b' } },
      ],
    });
    expect(up.body).toEqual({ upserted: 2, inserted: 2, updated: 0 });
    const first = await call('POST', '/collections/notes/search', {
      vector: [1, 1, 1, 1.1],
      topK: 2,
    });
    expect(first.status).toBe(200);
    expect(first.body.matches.map((m: { id: string }) => m.id)).toEqual(['near', 'far']);
    // Rate limits hold in memory without Redis: the free plan's search limit, counted down.
    expect(first.headers.get('ratelimit-policy')).toContain('"search-1s";q=10');
    expect(first.headers.get('ratelimit')).toBe('"search-1s";r=9;t=1');

    await api.close();
    api = await boot();

    const again = await call('POST', '/collections/notes/search', {
      vector: [1, 1, 1, 1.1],
      topK: 1,
      filter: { kind: 'a' },
    });
    expect(again.status).toBe(200);
    expect(again.body.matches).toEqual([expect.objectContaining({ id: 'near' })]);
    expect((await call('GET', '/collections/notes')).body.vectorCount).toBe(2);
  }, 120_000);

  it('runs requests as the app role under row-level security, as production does', async () => {
    const db = api!.app.get(Db);
    // PGlite's only login is a superuser; the transaction switches to quiver_app, so RLS applies.
    const [who] = await db.platform((tx) =>
      tx.query<{ user: string }>('SELECT current_user AS user'),
    );
    expect(who.user).toBe('quiver_app');
    const [unscoped] = await db.platform((tx) =>
      tx.query<{ n: number }>('SELECT count(*)::int AS n FROM collections'),
    );
    expect(unscoped.n).toBe(0);
    const [any] = await db.platform((tx) =>
      tx.query<{ n: number }>('SELECT count(*)::int AS n FROM tenants'),
    );
    expect(any.n).toBeGreaterThan(0);
  });
});
