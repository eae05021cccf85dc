import { startApp, TestApp, TestTenant } from './support/harness';

/**
 * Keys restricted to collections and to an enforced metadata filter, as a tenant hands its own end
 * users: the server ANDs the filter into every read, delete and write, and no request can widen it.
 */
describe('scoped API keys', () => {
  let api: TestApp;
  let t: TestTenant;
  let userKey: string;

  const rows = [
    { id: 'u1-a', values: [1, 0], metadata: { owner: 'u1', kind: 'a' } },
    { id: 'u1-b', values: [0.9, 0.1], metadata: { owner: 'u1', kind: 'b' } },
    { id: 'u2-a', values: [1, 0.01], metadata: { owner: 'u2', kind: 'a' } },
    { id: 'u2-b', values: [0, 1], metadata: { owner: 'u2', kind: 'b' } },
  ];

  beforeAll(async () => {
    api = await startApp();
    t = await api.createTenant('scoped');
    await t.collection('docs', 2);
    await t.collection('secret', 2);
    await t.upsert('docs', rows);
    userKey = (
      await t.key(['vectors:read', 'vectors:write'], {
        collections: ['docs'],
        filter: { owner: 'u1' },
      })
    ).secret;
  });
  afterAll(() => api.close());

  const as = (method: string, path: string, body?: unknown) =>
    t.request(method, path, body, userKey);
  const ids = (r: { body: { matches: Array<{ id: string }> } }) =>
    r.body.matches.map((m) => m.id).sort();

  it('shows the restrictions on the key and refuses an invalid enforced filter at creation', async () => {
    const keys = (await t.request('GET', '/keys')).body.items;
    expect(keys).toContainEqual(
      expect.objectContaining({ collections: ['docs'], filter: { owner: 'u1' } }),
    );
    const bad = await t.request('POST', '/keys', {
      name: 'x',
      scopes: ['vectors:read'],
      filter: { owner: { $regex: '.*' } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalid_key_restriction');
  });

  it('reaches only its collections, and says so before looking anything up', async () => {
    for (const name of ['secret', 'does-not-exist']) {
      const r = await as('POST', `/collections/${name}/search`, { vector: [1, 0], topK: 10 });
      expect(r.status).toBe(403);
      expect(r.body.code).toBe('collection_not_permitted');
    }
    const list = await as('GET', '/collections');
    expect(list.body.items.map((c: { name: string }) => c.name)).toEqual(['docs']);
  });

  it('searches only rows the enforced filter matches, whatever filter the request sends', async () => {
    expect(
      ids(
        await as('POST', '/collections/docs/search', { vector: [1, 0], topK: 10, mode: 'exact' }),
      ),
    ).toEqual(['u1-a', 'u1-b']);
    const widen = [
      { owner: 'u2' },
      { $or: [{ owner: 'u2' }, { owner: 'u1' }] },
      { $not: { owner: 'u1' } },
      { owner: { $ne: 'u1' } },
    ];
    for (const filter of widen) {
      const r = await as('POST', '/collections/docs/search', {
        vector: [1, 0],
        topK: 10,
        mode: 'exact',
        filter,
      });
      expect(r.status).toBe(200);
      expect(r.body.matches.every((m: { id: string }) => m.id.startsWith('u1-'))).toBe(true);
    }
    const approx = await as('POST', '/collections/docs/search', {
      vector: [1, 0],
      topK: 10,
      mode: 'approximate',
    });
    expect(ids(approx)).toEqual(['u1-a', 'u1-b']);
  });

  it("fetches and counts only the filter's rows", async () => {
    const f = await as('POST', '/collections/docs/vectors/fetch', { ids: ['u1-a', 'u2-a'] });
    expect(f.body.vectors.map((v: { id: string }) => v.id)).toEqual(['u1-a']);
    expect(f.body.missing).toEqual(['u2-a']);
    expect((await as('POST', '/collections/docs/vectors/count', {})).body.count).toBe(2);
    expect(
      (await as('POST', '/collections/docs/vectors/count', { filter: { owner: 'u2' } })).body.count,
    ).toBe(0);
  });

  it("refuses writes outside the filter, whole, and never overwrites another owner's row", async () => {
    const outside = await as('POST', '/collections/docs/vectors', {
      vectors: [
        { id: 'u1-c', values: [1, 1], metadata: { owner: 'u1' } },
        { id: 'u2-c', values: [1, 1], metadata: { owner: 'u2' } },
      ],
    });
    expect(outside.status).toBe(403);
    expect(outside.body.code).toBe('filter_violation');
    const hijack = await as('POST', '/collections/docs/vectors', {
      vectors: [{ id: 'u2-a', values: [5, 5], metadata: { owner: 'u1' } }],
    });
    expect(hijack.status).toBe(403);
    expect(hijack.body.code).toBe('filter_violation');
    // Nothing of either batch is stored, and u2's row is as it was.
    const admin = await t.request('POST', '/collections/docs/vectors/fetch', {
      ids: ['u1-c', 'u2-c', 'u2-a'],
    });
    expect(admin.body.missing.sort()).toEqual(['u1-c', 'u2-c']);
    expect(admin.body.vectors[0].metadata).toEqual({ owner: 'u2', kind: 'a' });
    const own = await as('POST', '/collections/docs/vectors', {
      vectors: [{ id: 'u1-a', values: [1, 0.5], metadata: { owner: 'u1', kind: 'a2' } }],
    });
    expect(own.body).toEqual({ upserted: 1, inserted: 0, updated: 1 });
  });

  it("deletes only the filter's rows, by ids or by filter", async () => {
    const byIds = await as('POST', '/collections/docs/vectors/delete', { ids: ['u2-b', 'u1-b'] });
    expect(byIds.body.deleted).toBe(1);
    const byFilter = await as('POST', '/collections/docs/vectors/delete', {
      filter: { kind: { $in: ['a', 'b', 'a2'] } },
    });
    expect(byFilter.body.deleted).toBe(1);
    const remaining = await t.request('POST', '/collections/docs/vectors/fetch', {
      ids: rows.map((r) => r.id),
    });
    expect(remaining.body.vectors.map((v: { id: string }) => v.id).sort()).toEqual([
      'u2-a',
      'u2-b',
    ]);
  });

  it('cannot create or delete collections outside its list', async () => {
    const admin = (await t.key(['collections:admin'], { collections: ['docs', 'new-one'] })).secret;
    const nope = await t.request('POST', '/collections', { name: 'other', dimension: 2 }, admin);
    expect(nope.status).toBe(403);
    expect(
      (await t.request('POST', '/collections', { name: 'new-one', dimension: 2 }, admin)).status,
    ).toBe(201);
    expect((await t.request('DELETE', '/collections/secret', undefined, admin)).status).toBe(403);
    expect((await t.request('GET', '/collections/secret')).status).toBe(200);
  });
});
