import { Queue } from 'bullmq';
import type { Client } from 'pg';
import { generateSecret } from '@libs/api-key';
import { AppConfig } from '@app/config/app-config';
import { TenantsService } from '@app/tenancy/tenants.service';
import { eventually, ownerClient, startApp, TestApp, TestTenant } from './support/harness';
import { asTenantOwner, expectProblem, outboxEvents, uniq } from './support/keys-helpers';

const GRACE_HOURS = 48;
const TENANT_TABLES = ['api_keys', 'collections', 'vectors', 'outbox'] as const;

// jest reads testTimeout only from the root config, not from a project: set it here.
jest.setTimeout(30_000);

describe('platform tenants API', () => {
  let api: TestApp;
  let owner: Client;

  beforeAll(async () => {
    api = await startApp({ TENANT_PURGE_GRACE_HOURS: String(GRACE_HOURS) });
    owner = await ownerClient();
  });
  afterAll(async () => {
    await owner?.end();
    await api?.close();
  });

  const createTenant = (body: Record<string, unknown>) => api.admin('POST', '/tenants', body);

  /** A tenant with a collection, vectors and an admin key: something for a purge to remove. */
  async function populatedTenant(app: TestApp = api): Promise<TestTenant> {
    const t = await app.createTenant('purge');
    await t.collection('docs', 3);
    await t.upsert('docs', [
      { id: 'a', values: [1, 0, 0], metadata: { k: 1 } },
      { id: 'b', values: [0, 1, 0] },
    ]);
    await t.key(['vectors:read']);
    return t;
  }

  /** Rows of the tenant in every tenant-owned table, read as the owner inside the tenant's RLS scope. */
  async function rowCounts(tenantId: string): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    const [tenants] = (
      await owner.query(`SELECT count(*)::int AS n FROM tenants WHERE id = $1`, [tenantId])
    ).rows;
    counts.tenants = tenants.n;
    for (const table of TENANT_TABLES) {
      const [row] = await asTenantOwner<{ n: number }>(
        owner,
        tenantId,
        `SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`,
        [tenantId],
      );
      counts[table] = row.n;
    }
    return counts;
  }

  describe('creating and reading', () => {
    it('creates a tenant with slug, name and plan, and reads it back', async () => {
      const slug = `acme-${uniq()}`;
      const r = await createTenant({ slug, name: 'Acme Corp', plan: 'pro' });
      expect(r.status).toBe(201);
      expect(r.body).toEqual(
        expect.objectContaining({
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          slug,
          name: 'Acme Corp',
          plan: 'pro',
          status: 'active',
          settingsVersion: 1,
          suspendedAt: null,
          deletionRequestedAt: null,
          purgeAfter: null,
        }),
      );
      const got = await api.admin('GET', `/tenants/${r.body.id}`);
      expect(got.status).toBe(200);
      expect(got.body).toEqual(r.body);

      const defaultPlan = await createTenant({ slug: `plain-${uniq()}`, name: 'Plain' });
      expect(defaultPlan.status).toBe(201);
      expect(defaultPlan.body.plan).toBe('free');
    });

    it('refuses a duplicate slug with 409 tenant_slug_taken', async () => {
      const slug = `dup-${uniq()}`;
      const first = await createTenant({ slug, name: 'First' });
      expect(first.status).toBe(201);
      const second = await createTenant({ slug, name: 'Second' });
      expectProblem(second, 409, 'tenant_slug_taken');
      const { rows } = await owner.query(`SELECT name FROM tenants WHERE slug = $1`, [slug]);
      expect(rows).toEqual([{ name: 'First' }]);
    });

    it.each([
      ['that is too short', 'ab'],
      ['in uppercase', 'Acme-Corp'],
      ['with a leading hyphen', '-acme'],
      ['with a trailing hyphen', 'acme-'],
      ['with a space', 'acme corp'],
      ['with an underscore', 'acme_corp'],
      ['of 64 characters', 'a'.repeat(64)],
      ['that is not a string', 42],
    ])('refuses a slug %s with 400 validation_failed', async (_label, slug) => {
      const r = await createTenant({ slug, name: 'Bad slug' });
      expectProblem(r, 400, 'validation_failed');
      expect(r.body.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: 'slug' })]),
      );
    });

    it('refuses an unknown plan and unknown fields with 400 validation_failed', async () => {
      expectProblem(
        await createTenant({ slug: `p-${uniq()}`, name: 'X', plan: 'platinum' }),
        400,
        'validation_failed',
      );
      expectProblem(
        await createTenant({ slug: `p-${uniq()}`, name: 'X', status: 'suspended' }),
        400,
        'validation_failed',
      );
    });

    it('answers 404 tenant_not_found for an unknown or malformed tenant id', async () => {
      expectProblem(
        await api.admin('GET', '/tenants/00000000-0000-4000-8000-000000000000'),
        404,
        'tenant_not_found',
      );
      expectProblem(await api.admin('GET', '/tenants/not-a-uuid'), 404, 'tenant_not_found');
    });

    it('changes name and plan with PATCH, leaving what is not sent', async () => {
      const t = await createTenant({ slug: `patch-${uniq()}`, name: 'Before', plan: 'free' });
      const id: string = t.body.id;
      const renamed = await api.admin('PATCH', `/tenants/${id}`, { name: 'After' });
      expect(renamed.status).toBe(200);
      expect(renamed.body).toEqual(expect.objectContaining({ name: 'After', plan: 'free' }));
      const upgraded = await api.admin('PATCH', `/tenants/${id}`, { plan: 'enterprise' });
      expect(upgraded.status).toBe(200);
      expect(upgraded.body).toEqual(expect.objectContaining({ name: 'After', plan: 'enterprise' }));
      expectProblem(
        await api.admin('PATCH', `/tenants/${id}`, { plan: 'platinum' }),
        400,
        'validation_failed',
      );
      expectProblem(
        await api.admin('PATCH', `/tenants/${id}`, { slug: 'new-slug' }),
        400,
        'validation_failed',
      );
      const got = await api.admin('GET', `/tenants/${id}`);
      expect(got.body).toEqual(
        expect.objectContaining({ slug: t.body.slug, name: 'After', plan: 'enterprise' }),
      );
    });
  });

  describe('listing', () => {
    it('walks every page with limit and nextCursor, oldest first, each tenant exactly once', async () => {
      const mine: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await createTenant({ slug: `page-${uniq()}`, name: `Page ${i}` });
        expect(r.status).toBe(201);
        mine.push(r.body.id);
      }
      const { rows } = await owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM tenants`);
      const total = rows[0].n;

      const seen: Array<{ id: string; createdAt: string }> = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const r = await api.admin('GET', `/tenants?limit=3${query}`);
        expect(r.status).toBe(200);
        expect(r.body.items.length).toBeLessThanOrEqual(3);
        seen.push(...r.body.items.map((i: { id: string; createdAt: string }) => i));
        cursor = r.body.nextCursor;
        pages++;
        if (cursor !== null) expect(r.body.items).toHaveLength(3);
      } while (cursor !== null && pages <= total + 1);

      const ids = seen.map((s) => s.id);
      const duplicates = ids.filter((id, i) => ids.indexOf(id) !== i);
      expect(duplicates).toEqual([]);
      expect(ids).toHaveLength(total);
      expect(ids).toEqual(expect.arrayContaining(mine));
      const times = seen.map((s) => Date.parse(s.createdAt));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      // Mine were created last, in order.
      expect(ids.slice(-5)).toEqual(mine);
    });

    it('filters by status, and refuses an unknown status with 400', async () => {
      const suspended = await createTenant({ slug: `filt-${uniq()}`, name: 'Filtered' });
      const active = await createTenant({ slug: `filt-${uniq()}`, name: 'Filtered' });
      expect((await api.admin('POST', `/tenants/${suspended.body.id}/suspend`)).status).toBe(200);
      const r = await api.admin('GET', '/tenants?status=suspended&limit=200');
      expect(r.status).toBe(200);
      const ids = r.body.items.map((i: { id: string }) => i.id);
      expect(ids).toContain(suspended.body.id);
      expect(ids).not.toContain(active.body.id);
      expect(r.body.items.every((i: { status: string }) => i.status === 'suspended')).toBe(true);
      expectProblem(await api.admin('GET', '/tenants?status=deleted'), 400, 'validation_failed');
    });

    it('refuses a malformed cursor with 400 validation_failed', async () => {
      const b64 = (s: string) => Buffer.from(s).toString('base64url');
      for (const cursor of [
        'garbage',
        b64('not-a-date|00000000-0000-4000-8000-000000000000'),
        b64('2026-01-01T00:00:00.000Z|not-a-uuid'),
        b64('2026-01-01T00:00:00.000Z'),
      ]) {
        const r = await api.admin('GET', `/tenants?cursor=${encodeURIComponent(cursor)}`);
        expectProblem(r, 400, 'validation_failed');
      }
    });

    it('refuses a limit outside 1..200 with 400 validation_failed', async () => {
      for (const limit of ['0', '201', 'ten', '-1']) {
        expectProblem(await api.admin('GET', `/tenants?limit=${limit}`), 400, 'validation_failed');
      }
    });
  });

  describe('settings', () => {
    let id: string;
    beforeEach(async () => {
      const r = await createTenant({ slug: `set-${uniq()}`, name: 'Settings' });
      id = r.body.id;
    });
    const put = (settings: unknown, ifMatch?: string) =>
      api.admin(
        'PUT',
        `/tenants/${id}/settings`,
        { settings },
        ifMatch === undefined ? undefined : { 'if-match': ifMatch },
      );
    const stored = async () =>
      (await owner.query(`SELECT settings, settings_version FROM tenants WHERE id = $1`, [id]))
        .rows[0];

    it('GET returns the settings document with ETag "<version>"', async () => {
      const r = await api.admin('GET', `/tenants/${id}/settings`);
      expect(r.status).toBe(200);
      expect(r.headers.get('etag')).toBe('"1"');
      expect(r.body).toEqual(
        expect.objectContaining({ settings: {}, version: 1, updatedAt: expect.any(String) }),
      );
    });

    it('refuses PUT without If-Match with 428 if_match_required', async () => {
      expectProblem(await put({ search: { efSearch: 200 } }), 428, 'if_match_required');
      expect(await stored()).toEqual({ settings: {}, settings_version: 1 });
    });

    it('refuses PUT with a stale If-Match with 412 settings_version_mismatch and changes nothing', async () => {
      const first = await put({ search: { efSearch: 200 } }, '"1"');
      expect(first.status).toBe(200);
      const stale = await put({ labels: { team: 'search' } }, '"1"');
      expectProblem(stale, 412, 'settings_version_mismatch');
      expect(stale.body.currentVersion).toBe(2);
      for (const etag of ['"99"', 'garbage']) {
        expectProblem(await put({ labels: { team: 'x' } }, etag), 412, 'settings_version_mismatch');
      }
      expect(await stored()).toEqual({
        settings: { search: { efSearch: 200 } },
        settings_version: 2,
      });
    });

    it('PUT with the current If-Match stores the document, bumps the version and sends the new ETag', async () => {
      const doc = { search: { efSearch: 250 }, labels: { team: 'search', 'cost.centre': 'c-42' } };
      const r = await put(doc, '"1"');
      expect(r.status).toBe(200);
      expect(r.headers.get('etag')).toBe('"2"');
      expect(r.body).toEqual(expect.objectContaining({ settings: doc, version: 2 }));
      const read = await api.admin('GET', `/tenants/${id}/settings`);
      expect(read.headers.get('etag')).toBe('"2"');
      expect(read.body.settings).toEqual(doc);
      expect((await api.admin('GET', `/tenants/${id}`)).body.settingsVersion).toBe(2);
      // The new ETag is what the next write must send; the document is replaced whole.
      const next = await put({ labels: { team: 'ml' } }, read.headers.get('etag')!);
      expect(next.status).toBe(200);
      expect(next.headers.get('etag')).toBe('"3"');
      expect(await stored()).toEqual({ settings: { labels: { team: 'ml' } }, settings_version: 3 });
    });

    it.each([
      ['an unknown section', { serch: { efSearch: 10 } }, 'serch'],
      ['an unknown field', { search: { ef: 10 } }, 'search.ef'],
      ['an out-of-range value', { search: { efSearch: 0 } }, 'search.efSearch'],
      ['a wrongly typed value', { search: { efSearch: 'high' } }, 'search.efSearch'],
      ['a bad label name', { labels: { 'Bad Name': 'x' } }, 'labels.Bad Name'],
    ])(
      'refuses %s with 400 invalid_settings listing the path, and stores nothing',
      async (_label, settings, path) => {
        const r = await put(settings, '"1"');
        expectProblem(r, 400, 'invalid_settings');
        expect(r.body.errors).toEqual(
          expect.arrayContaining([
            expect.objectContaining({
              path,
              message: expect.any(String),
            }),
          ]),
        );
        expect(await stored()).toEqual({ settings: {}, settings_version: 1 });
      },
    );

    it('refuses invalid settings at tenant creation with 400 invalid_settings', async () => {
      const slug = `bad-set-${uniq()}`;
      const r = await createTenant({ slug, name: 'X', settings: { search: { efSearch: -5 } } });
      expectProblem(r, 400, 'invalid_settings');
      const { rows } = await owner.query(`SELECT id FROM tenants WHERE slug = $1`, [slug]);
      expect(rows).toEqual([]);
    });
  });

  describe('lifecycle', () => {
    /** The data-plane calls a tenant's own key makes; every one must answer `status`/`code`. */
    async function expectDataPlane(t: TestTenant, status: number, code?: string) {
      const calls: Array<[string, string, unknown?]> = [
        ['GET', '/collections'],
        ['GET', '/collections/docs'],
        ['POST', '/collections/docs/search', { vector: [1, 0, 0], topK: 1, mode: 'exact' }],
        ['POST', '/collections/docs/vectors', { vectors: [{ id: 'z', values: [0, 0, 1] }] }],
        ['POST', '/collections', { name: `c${uniq()}`, dimension: 3 }],
        ['GET', '/keys'],
        ['POST', '/keys', { name: 'new', scopes: ['vectors:read'] }],
      ];
      for (const [method, path, body] of calls) {
        const r = await t.request(method, path, body);
        if (code) expectProblem(r, status, code);
        else expect({ method, path, status: r.status }).toEqual({ method, path, status });
      }
    }

    async function readyTenant(): Promise<TestTenant> {
      const t = await api.createTenant('life');
      await t.collection('docs', 3);
      await t.upsert('docs', [{ id: 'a', values: [1, 0, 0] }]);
      // Warm the key cache: the state change must beat a cached "active".
      expect((await t.request('GET', '/collections')).status).toBe(200);
      return t;
    }

    it('suspend: the data plane gets 403 tenant_suspended, the platform admin still reads and resumes it', async () => {
      const t = await readyTenant();
      const s = await api.admin('POST', `/tenants/${t.id}/suspend`);
      expect(s.status).toBe(200);
      expect(s.body).toEqual(
        expect.objectContaining({ status: 'suspended', suspendedAt: expect.any(String) }),
      );
      await expectDataPlane(t, 403, 'tenant_suspended');

      const got = await api.admin('GET', `/tenants/${t.id}`);
      expect(got.status).toBe(200);
      expect(got.body.status).toBe('suspended');

      const r = await api.admin('POST', `/tenants/${t.id}/resume`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual(expect.objectContaining({ status: 'active', suspendedAt: null }));
      const search = await t.request('POST', '/collections/docs/search', {
        vector: [1, 0, 0],
        topK: 1,
        mode: 'exact',
      });
      expect(search.status).toBe(200);
      expect(search.body.matches[0].id).toBe('a');
      expect((await t.request('GET', '/collections')).status).toBe(200);
    });

    it('refuses to suspend a suspended tenant, or resume an active one, with 409 invalid_tenant_state', async () => {
      const t = await api.createTenant('life');
      expectProblem(
        await api.admin('POST', `/tenants/${t.id}/resume`),
        409,
        'invalid_tenant_state',
      );
      expect((await api.admin('POST', `/tenants/${t.id}/suspend`)).status).toBe(200);
      expectProblem(
        await api.admin('POST', `/tenants/${t.id}/suspend`),
        409,
        'invalid_tenant_state',
      );
      expect((await api.admin('GET', `/tenants/${t.id}`)).body.status).toBe('suspended');
    });

    it('DELETE answers 202 pending_deletion with purgeAfter TENANT_PURGE_GRACE_HOURS ahead', async () => {
      const t = await readyTenant();
      expect(api.app.get(AppConfig).env.TENANT_PURGE_GRACE_HOURS).toBe(GRACE_HOURS);
      const before = Date.now();
      const r = await api.admin('DELETE', `/tenants/${t.id}`);
      expect(r.status).toBe(202);
      expect(r.body).toEqual(
        expect.objectContaining({
          id: t.id,
          status: 'pending_deletion',
          deletionRequestedAt: expect.any(String),
          purgeAfter: expect.any(String),
        }),
      );
      const expected = before + GRACE_HOURS * 3600_000;
      expect(Math.abs(Date.parse(r.body.purgeAfter) - expected)).toBeLessThan(60_000);
      // The platform admin still sees it, with its data, until the purge.
      const got = await api.admin('GET', `/tenants/${t.id}`);
      expect(got.status).toBe(200);
      expect(got.body.status).toBe('pending_deletion');
      expect((await rowCounts(t.id)).vectors).toBe(1);
    });

    it('a tenant pending deletion is 404 tenant_not_found everywhere on the data plane, at once', async () => {
      const t = await readyTenant();
      expect((await api.admin('DELETE', `/tenants/${t.id}`)).status).toBe(202);
      await expectDataPlane(t, 404, 'tenant_not_found');
    });

    it('resume cancels a pending deletion and the key works again', async () => {
      const t = await readyTenant();
      expect((await api.admin('DELETE', `/tenants/${t.id}`)).status).toBe(202);
      expect((await t.request('GET', '/collections')).status).toBe(404);
      const r = await api.admin('POST', `/tenants/${t.id}/resume`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual(
        expect.objectContaining({ status: 'active', purgeAfter: null, deletionRequestedAt: null }),
      );
      expect((await t.request('GET', '/collections')).status).toBe(200);
      // Cancelled means cancelled: a due-purge scan does not pick it up.
      expect(
        (await owner.query(`SELECT purge_after FROM tenants WHERE id = $1`, [t.id])).rows,
      ).toEqual([{ purge_after: null }]);
    });
  });

  describe('purge', () => {
    let worker: TestApp;
    let queue: Queue;
    beforeAll(async () => {
      // A second instance that also consumes the queue, with no grace: purge_after = now.
      worker = await startApp({ TENANT_PURGE_GRACE_HOURS: '0' }, { worker: true });
      const env = worker.app.get(AppConfig);
      queue = new Queue('jobs', {
        connection: { url: env.redisUrl!, maxRetriesPerRequest: null },
        prefix: env.env.QUEUE_PREFIX,
      });
    });
    afterAll(async () => {
      await queue?.close();
      await worker?.close();
    });

    const gone = (id: string) =>
      eventually(
        () => api.admin('GET', `/tenants/${id}`).then((r) => r.status),
        (s) => s === 404,
        10_000,
      );
    const noRowsLeft = { tenants: 0, api_keys: 0, collections: 0, vectors: 0, outbox: 0 };

    it('DELETE ?purge=now has the worker purge every row of the tenant', async () => {
      const t = await populatedTenant();
      const collectionId: string = (await t.request('GET', '/collections/docs')).body.id;
      const before = await rowCounts(t.id);
      expect(before).toEqual({
        tenants: 1,
        api_keys: 2,
        collections: 1,
        vectors: 2,
        outbox: expect.any(Number),
      });
      expect(before.outbox).toBeGreaterThan(0);

      const r = await api.admin('DELETE', `/tenants/${t.id}?purge=now`);
      expect(r.status).toBe(202);
      expect(r.body.status).toBe('pending_deletion');
      await gone(t.id);
      expect(await rowCounts(t.id)).toEqual(noRowsLeft);
      const partition = `vectors_c_${collectionId.replace(/-/g, '')}`;
      const { rows } = await owner.query(`SELECT to_regclass($1) AS t`, [partition]);
      expect(rows).toEqual([{ t: null }]);
      expectProblem(await t.request('GET', '/collections'), 401, 'invalid_api_key');
    });

    it('refuses ?purge= values other than now with 400', async () => {
      const t = await api.createTenant('purge');
      expectProblem(
        await api.admin('DELETE', `/tenants/${t.id}?purge=yes`),
        400,
        'validation_failed',
      );
      expect((await api.admin('GET', `/tenants/${t.id}`)).body.status).toBe('active');
    });

    it('with a zero grace period the due-purge scan purges a deleted tenant, and only due ones', async () => {
      const due = await populatedTenant(worker);
      const notDue = await populatedTenant(api);
      const d = await worker.admin('DELETE', `/tenants/${due.id}`);
      expect(d.status).toBe(202);
      expect(Date.parse(d.body.purgeAfter)).toBeLessThanOrEqual(Date.now() + 1000);
      expect((await api.admin('DELETE', `/tenants/${notDue.id}`)).status).toBe(202);
      const notDueBefore = await rowCounts(notDue.id);

      expect(await worker.app.get(TenantsService).enqueueDuePurges()).toBeGreaterThanOrEqual(1);
      await gone(due.id);
      expect(await rowCounts(due.id)).toEqual(noRowsLeft);

      // The one still in its grace period keeps everything.
      expect((await api.admin('GET', `/tenants/${notDue.id}`)).body.status).toBe(
        'pending_deletion',
      );
      expect(await rowCounts(notDue.id)).toEqual(notDueBefore);
    });

    it('purges on ?purge=now even after an earlier purge job found the deletion cancelled', async () => {
      const t = await populatedTenant();
      // Hold the queue so the first job runs only after the deletion is cancelled.
      await queue.pause();
      try {
        expect((await api.admin('DELETE', `/tenants/${t.id}?purge=now`)).status).toBe(202);
        expect((await api.admin('POST', `/tenants/${t.id}/resume`)).status).toBe(200);
      } finally {
        await queue.resume();
      }
      // That job runs, finds the tenant active and does nothing.
      await eventually(
        async () =>
          (await queue.getJobs(['completed', 'failed'])).some((j) => j.data?.tenantId === t.id),
        (done) => done,
        10_000,
      );
      expect((await api.admin('GET', `/tenants/${t.id}`)).body.status).toBe('active');

      // Deleted again, for good this time.
      expect((await api.admin('DELETE', `/tenants/${t.id}?purge=now`)).status).toBe(202);
      await gone(t.id);
      expect(await rowCounts(t.id)).toEqual(noRowsLeft);
    });
  });

  describe('outbox', () => {
    it('records every tenant state change: created, updated, settings_updated, suspended, resumed, deletion_scheduled', async () => {
      const slug = `ev-${uniq()}`;
      const c = await createTenant({ slug, name: 'Evented', plan: 'free' });
      const id: string = c.body.id;
      expect((await api.admin('PATCH', `/tenants/${id}`, { plan: 'pro' })).status).toBe(200);
      expect(
        (
          await api.admin(
            'PUT',
            `/tenants/${id}/settings`,
            { settings: { search: { efSearch: 120 } } },
            { 'if-match': '"1"' },
          )
        ).status,
      ).toBe(200);
      expect((await api.admin('POST', `/tenants/${id}/suspend`)).status).toBe(200);
      expect((await api.admin('POST', `/tenants/${id}/resume`)).status).toBe(200);
      expect((await api.admin('DELETE', `/tenants/${id}`)).status).toBe(202);
      // Refused changes write nothing.
      expect((await api.admin('POST', `/tenants/${id}/suspend`)).status).toBe(409);
      expect(
        (await api.admin('PUT', `/tenants/${id}/settings`, { settings: {} }, { 'if-match': '"1"' }))
          .status,
      ).toBe(412);

      const events = await outboxEvents(owner, id);
      expect(events.map((e) => e.type)).toEqual([
        'tenant.created',
        'tenant.updated',
        'tenant.settings_updated',
        'tenant.suspended',
        'tenant.resumed',
        'tenant.deletion_scheduled',
      ]);
      const [created, updated, settings, suspended, resumed, deletion] = events.map((e) => e.data);
      expect(created).toEqual(expect.objectContaining({ slug, name: 'Evented', plan: 'free' }));
      expect(updated).toEqual(
        expect.objectContaining({ changed: ['plan'], plan: 'pro', previousPlan: 'free' }),
      );
      expect(settings).toEqual(expect.objectContaining({ version: 2, sections: ['search'] }));
      expect(suspended).toEqual(
        expect.objectContaining({ previousStatus: 'active', status: 'suspended' }),
      );
      expect(resumed).toEqual(
        expect.objectContaining({ previousStatus: 'suspended', status: 'active' }),
      );
      expect(deletion).toEqual(
        expect.objectContaining({ previousStatus: 'active', purgeAfter: expect.any(String) }),
      );
    });
  });

  describe('authentication', () => {
    it('refuses a request without a credential with 401 unauthenticated and WWW-Authenticate', async () => {
      const r = await api.request('GET', '/v1/admin/tenants');
      expectProblem(r, 401, 'unauthenticated');
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer realm="quiver"/);
    });

    it("refuses a tenant's API key on /v1/admin with 401", async () => {
      const t = await api.createTenant('auth');
      for (const [method, path] of [
        ['GET', '/v1/admin/tenants'],
        ['GET', `/v1/admin/tenants/${t.id}`],
        ['POST', `/v1/admin/tenants/${t.id}/suspend`],
      ]) {
        expectProblem(
          await api.request(method, path, { token: t.adminKey }),
          401,
          'invalid_platform_token',
        );
      }
      expect((await api.admin('GET', `/tenants/${t.id}`)).body.status).toBe('active');
    });

    it.each([
      ['a truncated token', () => process.env.QUIVER_TEST_PLATFORM_TOKEN!.slice(0, -1)],
      [
        'a bad checksum',
        () => {
          const s = process.env.QUIVER_TEST_PLATFORM_TOKEN!;
          return s.slice(0, 20) + (s[20] === 'A' ? 'B' : 'A') + s.slice(21);
        },
      ],
      ['a wrong prefix', () => `qvr${process.env.QUIVER_TEST_PLATFORM_TOKEN!.slice(3)}`],
      ['random text', () => 'letmein'],
    ])(
      'refuses a platform token with %s with 401 invalid_platform_token',
      async (_label, token) => {
        const r = await api.request('GET', '/v1/admin/tenants', { token: token() });
        expectProblem(r, 401, 'invalid_platform_token');
      },
    );

    it('refuses a well-formed but unknown platform token with 401 invalid_platform_token', async () => {
      const r = await api.request('GET', '/v1/admin/tenants', {
        token: generateSecret('qvp', 'test').secret,
      });
      expectProblem(r, 401, 'invalid_platform_token');
    });

    it('refuses the platform token on the data plane with 401', async () => {
      const r = await api.request('GET', '/v1/collections', { token: api.platformToken });
      expectProblem(r, 401, 'invalid_api_key');
    });

    it('sends WWW-Authenticate with every 401, not only when the credential is missing', async () => {
      const t = await api.createTenant('auth');
      const refusals = [
        await api.request('GET', '/v1/admin/tenants', { token: 'letmein' }),
        await api.request('GET', '/v1/admin/tenants', { token: t.adminKey }),
        await api.request('GET', '/v1/collections', {
          token: generateSecret('qvr', 'live').secret,
        }),
      ];
      for (const r of refusals) {
        expect(r.status).toBe(401);
        expect({ code: r.body.code, header: r.headers.get('www-authenticate') }).toEqual({
          code: r.body.code,
          header: expect.stringMatching(/^Bearer /),
        });
      }
    });

    it('renders errors as problem+json whose requestId is the X-Request-Id of the response', async () => {
      const r = await api.request('GET', '/v1/admin/tenants', {
        headers: { 'x-request-id': 'req-tenants-e2e-1' },
      });
      expectProblem(r, 401, 'unauthenticated');
      expect(r.body.requestId).toBe('req-tenants-e2e-1');
      expect(r.headers.get('x-request-id')).toBe('req-tenants-e2e-1');
      expect(r.body.type).toBe('https://quiver.dev/problems/unauthenticated');
      expect(r.body.title).toEqual(expect.any(String));
      expect(JSON.stringify(r.body)).not.toContain(api.platformToken);
    });
  });
});
