import type { Client } from 'pg';
import { ownerClient, startApp, TestApp, TestTenant } from './support/harness';
import { asTenantOwner, expectProblem, outboxEvents } from './support/keys-helpers';

jest.setTimeout(60_000);

type Vec = { id: string; values: number[]; metadata?: object };
const vec = (id: string, metadata?: object): Vec => ({
  id,
  values: [1, 2],
  ...(metadata ? { metadata } : {}),
});
const batch = (prefix: string, n: number): Vec[] =>
  Array.from({ length: n }, (_, i) => vec(`${prefix}-${i}`));

describe('quotas: enforcement', () => {
  let api: TestApp;
  let owner: Client;

  beforeAll(async () => {
    api = await startApp();
    owner = await ownerClient();
  });
  afterAll(async () => {
    await owner?.end();
    await api?.close();
  });

  /** Replaces the tenant's settings with these quota overrides. */
  async function setQuotas(t: TestTenant, quotas: Record<string, unknown>): Promise<void> {
    const r = await api.admin(
      'PUT',
      `/tenants/${t.id}/settings`,
      { settings: { quotas } },
      {
        'if-match': '*',
      },
    );
    expect(r.status).toBe(200);
  }

  /** What the counters say, and what the source tables say. */
  async function usage(tenantId: string) {
    const [counters] = await asTenantOwner(
      owner,
      tenantId,
      `SELECT COALESCE(max(used) FILTER (WHERE resource = 'vectors'), 0)::int AS vectors,
              COALESCE(max(used) FILTER (WHERE resource = 'storedBytes'), 0)::int AS "storedBytes",
              COALESCE(max(used) FILTER (WHERE resource = 'collections'), 0)::int AS collections,
              COALESCE(max(used) FILTER (WHERE resource = 'apiKeys'), 0)::int AS "apiKeys"
         FROM quota_usage`,
    );
    const [actual] = await asTenantOwner(
      owner,
      tenantId,
      `SELECT (SELECT count(*) FROM vectors)::int AS vectors,
              (SELECT COALESCE(sum(quiver_vector_bytes(embedding, metadata)), 0) FROM vectors)::int AS "storedBytes",
              (SELECT count(*) FROM collections)::int AS collections,
              (SELECT count(*) FROM api_keys WHERE revoked_at IS NULL)::int AS "apiKeys"`,
    );
    return { counters, actual };
  }

  const upsert = (t: TestTenant, collection: string, vectors: Vec[]) =>
    t.request('POST', `/collections/${collection}/vectors`, { vectors });

  it('50 concurrent upserts that together exceed the vector quota leave the tenant at or under it', async () => {
    const t = await api.createTenant('q-race');
    await setQuotas(t, { limits: { vectors: 100 } });
    await t.collection('c', 2, 'l2');
    // 50 batches of 3 new vectors: 150 asked for, room for 33 batches (99 vectors).
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => upsert(t, 'c', batch(`b${i}`, 3))),
    );
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status !== 200);
    for (const r of refused) expectProblem(r, 403, 'quota_exceeded');
    expect(ok).toHaveLength(33);
    const { counters, actual } = await usage(t.id);
    expect(actual.vectors).toBe(99);
    expect(counters).toEqual(actual);
    // Refused batches left nothing behind: every stored batch is whole.
    const stored = await asTenantOwner<{ prefix: string; n: number }>(
      owner,
      t.id,
      `SELECT split_part(id, '-', 1) AS prefix, count(*)::int AS n FROM vectors GROUP BY 1`,
    );
    expect(stored.every((s) => s.n === 3)).toBe(true);
  });

  it('refuses a write whole with 403 quota_exceeded naming the resource, limit, usage and request', async () => {
    const t = await api.createTenant('q-body');
    await setQuotas(t, { limits: { vectors: 5 } });
    await t.collection('c', 2, 'l2');
    expect((await upsert(t, 'c', batch('a', 4))).status).toBe(200);
    const r = await upsert(t, 'c', [...batch('a', 4), ...batch('new', 2)]);
    expectProblem(r, 403, 'quota_exceeded');
    expect(r.body).toEqual(
      expect.objectContaining({ resource: 'vectors', limit: 5, usage: 4, requested: 2 }),
    );
    // Nothing of the batch was written, not even the overwrites.
    expect((await usage(t.id)).actual.vectors).toBe(4);
    // Overwriting existing vectors adds none, so it passes at the limit.
    expect((await upsert(t, 'c', batch('a', 4))).status).toBe(200);
    expect((await upsert(t, 'c', batch('n', 1))).status).toBe(200);
    expectProblem(await upsert(t, 'c', batch('m', 1)), 403, 'quota_exceeded');
    // Deleting makes room.
    const del = await t.request('POST', '/collections/c/vectors/delete', { ids: ['a-0', 'a-1'] });
    expect(del.body).toEqual({ deleted: 2 });
    expect((await upsert(t, 'c', batch('m', 2))).status).toBe(200);
    const { counters, actual } = await usage(t.id);
    expect(counters).toEqual(actual);
    // The refusal is recorded, outside the rolled-back write.
    const exceeded = (await outboxEvents(owner, t.id)).filter((e) => e.type === 'quota.exceeded');
    expect(exceeded).toHaveLength(2);
    expect(exceeded[0].data).toEqual({ resource: 'vectors', limit: 5, usage: 4, requested: 2 });
  });

  it('counts stored bytes: vectors (4 bytes a dimension) and metadata, and refuses growth past the limit', async () => {
    const t = await api.createTenant('q-bytes');
    await t.collection('c', 2, 'l2');
    // {} is 2 bytes of JSON: 10 bytes a vector.
    await setQuotas(t, { limits: { storedBytes: 50 } });
    expect((await upsert(t, 'c', batch('v', 4))).status).toBe(200);
    expect((await usage(t.id)).counters.storedBytes).toBe(40);
    const grown = await upsert(t, 'c', [vec('v-0', { note: 'far too long for the quota' })]);
    expectProblem(grown, 403, 'quota_exceeded');
    expect(grown.body).toEqual(
      expect.objectContaining({ resource: 'storedBytes', limit: 50, usage: 40 }),
    );
    // Replacing a vector with a smaller one is always allowed, even above a lowered limit.
    expect((await upsert(t, 'c', [vec('v-1', { a: 1 })])).status).toBe(200);
    await setQuotas(t, { limits: { storedBytes: 10 } });
    expect((await upsert(t, 'c', [vec('v-1')])).status).toBe(200);
    const { counters, actual } = await usage(t.id);
    expect(counters).toEqual(actual);
    expect(actual.storedBytes).toBe(40);
  });

  it('limits collections and their dimensions; deleting a collection gives its vectors and bytes back', async () => {
    const t = await api.createTenant('q-coll');
    await setQuotas(t, { limits: { collections: 2, dimensionsPerCollection: 8 } });
    const wide = await t.request('POST', '/collections', { name: 'wide', dimension: 9 });
    expectProblem(wide, 403, 'quota_exceeded');
    expect(wide.body).toEqual(
      expect.objectContaining({ resource: 'dimensionsPerCollection', limit: 8, requested: 9 }),
    );
    await t.collection('one', 8, 'l2');
    await t.collection('two', 2, 'l2');
    const third = await t.request('POST', '/collections', { name: 'three', dimension: 2 });
    expectProblem(third, 403, 'quota_exceeded');
    expect(third.body).toEqual(
      expect.objectContaining({ resource: 'collections', limit: 2, usage: 2, requested: 1 }),
    );
    // The refused collection left no row and no partition.
    expect((await t.request('GET', '/collections/three')).status).toBe(404);
    const [parts] = await asTenantOwner<{ n: number }>(
      owner,
      t.id,
      `SELECT count(*)::int AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent
        WHERE c.relname = 'vectors'`,
    );
    expect(parts.n).toBeGreaterThanOrEqual(2);
    expect((await upsert(t, 'two', batch('x', 3))).status).toBe(200);
    expect((await t.request('DELETE', '/collections/two')).status).toBe(204);
    const { counters, actual } = await usage(t.id);
    expect(counters).toEqual(actual);
    expect(actual).toEqual(expect.objectContaining({ collections: 1, vectors: 0, storedBytes: 0 }));
    await t.collection('three', 2, 'l2');
  });

  it('limits API keys that are not revoked', async () => {
    const t = await api.createTenant('q-keys');
    await setQuotas(t, { limits: { apiKeys: 2 } });
    const second = await t.key(['vectors:read']);
    const third = await t.request('POST', '/keys', {
      name: 'one too many',
      scopes: ['vectors:read'],
    });
    expectProblem(third, 403, 'quota_exceeded');
    expect(third.body).toEqual(
      expect.objectContaining({ resource: 'apiKeys', limit: 2, usage: 2 }),
    );
    // The platform admin's issuing path is held to the same limit.
    expectProblem(
      await api.admin('POST', `/tenants/${t.id}/keys`, { name: 'x', scopes: ['vectors:read'] }),
      403,
      'quota_exceeded',
    );
    expect((await t.request('DELETE', `/keys/${second.id}`)).status).toBe(200);
    await t.key(['vectors:read']);
    const { counters, actual } = await usage(t.id);
    expect(counters).toEqual(actual);
    expect(actual.apiKeys).toBe(2);
  });

  it('writes quota.warning once per crossing of the threshold', async () => {
    const t = await api.createTenant('q-warn');
    await setQuotas(t, { limits: { vectors: 10 }, warningPercent: 80 });
    await t.collection('c', 2, 'l2');
    const warnings = async () =>
      (await outboxEvents(owner, t.id)).filter((e) => e.type === 'quota.warning');
    await upsert(t, 'c', batch('a', 7));
    expect(await warnings()).toHaveLength(0);
    await upsert(t, 'c', batch('b', 1)); // 8: crosses 80 %
    expect(await warnings()).toHaveLength(1);
    expect((await warnings())[0].data).toEqual({
      resource: 'vectors',
      limit: 10,
      usage: 8,
      warningPercent: 80,
    });
    await upsert(t, 'c', batch('c', 1)); // 9: still above, no second warning
    await upsert(t, 'c', batch('a', 7)); // overwrites: no change
    expect(await warnings()).toHaveLength(1);
    await t.request('POST', '/collections/c/vectors/delete', { ids: ['a-0', 'a-1', 'a-2'] }); // 6
    await upsert(t, 'c', batch('d', 2)); // 8 again: a new crossing
    expect(await warnings()).toHaveLength(2);
  });

  it('the warning threshold defaults to QUOTA_WARNING_PERCENT (80)', async () => {
    const t = await api.createTenant('q-warn-default');
    await setQuotas(t, { limits: { collections: 5 } });
    for (const name of ['a', 'b', 'c']) await t.collection(name, 2, 'l2');
    let types = (await outboxEvents(owner, t.id)).map((e) => e.type);
    expect(types).not.toContain('quota.warning');
    await t.collection('d', 2, 'l2'); // 4 of 5
    types = (await outboxEvents(owner, t.id)).map((e) => e.type);
    expect(types.filter((x) => x === 'quota.warning')).toHaveLength(1);
  });
});

describe('quotas: plans and effective limits', () => {
  let api: TestApp;

  beforeAll(async () => {
    api = await startApp();
  });
  afterAll(async () => {
    await api?.close();
  });

  const planBody = (name: string, limits: Record<string, number | null> = {}) => ({
    name,
    description: 'test plan',
    limits: {
      collections: 3,
      vectors: 1000,
      dimensionsPerCollection: 128,
      storedBytes: 1_000_000,
      requestsPerDay: 10_000,
      searchesPerSecond: 5,
      apiKeys: 4,
      webhookEndpoints: null,
      ...limits,
    },
  });
  const uniq = () => Math.random().toString(36).slice(2, 8);

  it('seeds free, pro and enterprise (enterprise unlimited)', async () => {
    const r = await api.admin('GET', '/plans');
    expect(r.status).toBe(200);
    const names = r.body.items.map((p: { name: string }) => p.name);
    expect(names).toEqual(expect.arrayContaining(['free', 'pro', 'enterprise']));
    const enterprise = r.body.items.find((p: { name: string }) => p.name === 'enterprise');
    expect(Object.values(enterprise.limits).every((v) => v === null)).toBe(true);
    const free = await api.admin('GET', '/plans/free');
    expect(free.body.limits).toEqual(
      expect.objectContaining({ collections: 5, vectors: 100_000, apiKeys: 10 }),
    );
  });

  it('creates, reads, changes and deletes a plan', async () => {
    const name = `team-${uniq()}`;
    const created = await api.admin('POST', '/plans', planBody(name));
    expect(created.status).toBe(201);
    expect(created.body).toEqual(
      expect.objectContaining({ name, tenantCount: 0, limits: planBody(name).limits }),
    );
    expectProblem(await api.admin('POST', '/plans', planBody(name)), 409, 'plan_exists');
    const patched = await api.admin('PATCH', `/plans/${name}`, { limits: { vectors: null } });
    expect(patched.status).toBe(200);
    expect(patched.body.limits).toEqual({ ...planBody(name).limits, vectors: null });
    expect((await api.admin('GET', `/plans/${name}`)).body.limits.vectors).toBeNull();
    expect((await api.admin('DELETE', `/plans/${name}`)).status).toBe(204);
    expectProblem(await api.admin('GET', `/plans/${name}`), 404, 'plan_not_found');
    expectProblem(await api.admin('PATCH', `/plans/${name}`, {}), 404, 'plan_not_found');
    expectProblem(await api.admin('DELETE', `/plans/${name}`), 404, 'plan_not_found');
  });

  it.each([
    ['a missing limit', { limits: { ...planBody('x').limits, apiKeys: undefined } }],
    ['a negative limit', { limits: planBody('x', { vectors: -1 }).limits }],
    ['a fractional limit', { limits: planBody('x', { vectors: 1.5 }).limits }],
    ['a string limit', { limits: { ...planBody('x').limits, vectors: '10' } }],
    ['an unknown limit', { limits: { ...planBody('x').limits, widgets: 3 } }],
    ['a bad name', { name: 'Not A Name' }],
    ['no limits', { limits: undefined }],
  ])('refuses a plan with %s (400 validation_failed)', async (_what, change) => {
    const body = { ...planBody(`bad-${uniq()}`), ...change };
    expectProblem(await api.admin('POST', '/plans', body), 400, 'validation_failed');
  });

  it('refuses to delete a plan tenants are on, and tenants on plans that do not exist', async () => {
    const name = `used-${uniq()}`;
    await api.admin('POST', '/plans', planBody(name));
    const t = await api.createTenant('q-plan', name);
    expectProblem(await api.admin('DELETE', `/plans/${name}`), 409, 'plan_in_use');
    expect((await api.admin('GET', `/plans/${name}`)).body.tenantCount).toBe(1);
    const bad = await api.admin('POST', '/tenants', {
      slug: `q-${uniq()}`,
      name: 'x',
      plan: 'no-such-plan',
    });
    expectProblem(bad, 400, 'validation_failed');
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: 'plan' })]);
    expectProblem(
      await api.admin('PATCH', `/tenants/${t.id}`, { plan: 'no-such-plan' }),
      400,
      'validation_failed',
    );
    expect((await api.admin('PATCH', `/tenants/${t.id}`, { plan: 'free' })).status).toBe(200);
    expect((await api.admin('DELETE', `/plans/${name}`)).status).toBe(204);
  });

  it('shows effective limits: the plan merged with the tenant overrides, with usage', async () => {
    const name = `eff-${uniq()}`;
    await api.admin('POST', '/plans', planBody(name));
    const t = await api.createTenant('q-eff', name);
    const put = await api.admin(
      'PUT',
      `/tenants/${t.id}/settings`,
      { settings: { quotas: { limits: { vectors: 5, apiKeys: null }, warningPercent: 90 } } },
      { 'if-match': '*' },
    );
    expect(put.status).toBe(200);
    await t.collection('c', 2, 'l2');
    const mine = await t.request('GET', '/quotas');
    expect(mine.status).toBe(200);
    const line = (n: string) => mine.body.limits.find((l: { name: string }) => l.name === n);
    expect(mine.body.plan).toBe(name);
    expect(mine.body.warningPercent).toBe(90);
    expect(line('vectors')).toEqual({ name: 'vectors', limit: 5, source: 'override', used: 0 });
    expect(line('apiKeys')).toEqual({ name: 'apiKeys', limit: null, source: 'override', used: 1 });
    expect(line('collections')).toEqual({
      name: 'collections',
      limit: 3,
      source: 'plan',
      used: 1,
    });
    expect(line('requestsPerDay')).toEqual({
      name: 'requestsPerDay',
      limit: 10_000,
      source: 'plan',
      used: null,
    });
    const theirs = await api.admin('GET', `/tenants/${t.id}/quotas`);
    expect(theirs.body).toEqual(mine.body);
    expectProblem(
      await api.admin('GET', '/tenants/00000000-0000-4000-8000-000000000000/quotas'),
      404,
      'tenant_not_found',
    );
    // A plan change applies to the next write.
    await api.admin('PATCH', `/plans/${name}`, { limits: { collections: 1 } });
    expectProblem(
      await t.request('POST', '/collections', { name: 'd', dimension: 2 }),
      403,
      'quota_exceeded',
    );
  });

  it('refuses unknown quota settings and bad values (400 invalid_settings)', async () => {
    const t = await api.createTenant('q-set');
    for (const quotas of [
      { limits: { widgets: 1 } },
      { limits: { vectors: -1 } },
      { limits: { vectors: '5' } },
      { warningPercent: 0 },
      { warningPercent: 101 },
      { other: true },
    ]) {
      const r = await api.admin(
        'PUT',
        `/tenants/${t.id}/settings`,
        { settings: { quotas } },
        { 'if-match': '*' },
      );
      expectProblem(r, 400, 'invalid_settings');
    }
  });

  it('keeps plans and other tenants usage to the platform admin', async () => {
    const t = await api.createTenant('q-auth');
    const reader = await t.key(['vectors:read']);
    expect((await t.request('GET', '/admin/plans')).status).toBe(401);
    expect((await t.request('POST', '/admin/plans', planBody(`x-${uniq()}`))).status).toBe(401);
    expectProblem(
      await t.request('GET', '/quotas', undefined, reader.secret),
      403,
      'insufficient_scope',
    );
    expect((await api.request('GET', '/v1/quotas', { token: api.platformToken })).status).toBe(401);
  });
});
