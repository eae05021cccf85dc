import { evaluateFilter } from '@libs/filter';
import { ownerClient, startApp, TestApp, TestTenant, type HttpResponse } from './support/harness';
import {
  bruteForceTopK,
  prng,
  rankingMismatches,
  randomVector,
  score,
  type Metric,
  type Ranked,
} from './support/vectors-math';
import { FILTERS, seedRows, type SeedRow } from './support/vectors-metadata';
import { expectProblem } from './support/vectors-problem';

/** JSON cannot carry Infinity; this marker is swapped for the literal 1e400 (which parses to Infinity). */
const INFINITY = '__1e400__';

function send(t: TestTenant, method: string, path: string, body: unknown): Promise<HttpResponse> {
  const json = JSON.stringify(body);
  if (!json.includes(INFINITY)) return t.request(method, path, body);
  return t.api.request(method, `/v1${path}`, {
    token: t.adminKey,
    rawBody: json.replaceAll(`"${INFINITY}"`, '1e400'),
    headers: { 'content-type': 'application/json' },
  });
}

async function count(t: TestTenant, collection: string, filter?: object): Promise<number> {
  const r = await t.request(
    'POST',
    `/collections/${collection}/vectors/count`,
    filter ? { filter } : {},
  );
  expect(r.status).toBe(200);
  return r.body.count as number;
}

async function search(
  t: TestTenant,
  collection: string,
  body: object,
): Promise<{ matches: Ranked[]; mode: string }> {
  const r = await t.request('POST', `/collections/${collection}/search`, body);
  if (r.status !== 200) throw new Error(`search: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function fetchVectors(t: TestTenant, collection: string, ids: string[], extra: object = {}) {
  const r = await t.request('POST', `/collections/${collection}/vectors/fetch`, { ids, ...extra });
  expect(r.status).toBe(200);
  return r.body as {
    vectors: Array<{ id: string; values?: number[]; metadata?: Record<string, unknown> }>;
    missing: string[];
  };
}

/** The same float4 as `expected`: pgvector stores float4 and prints it in its shortest form. */
function expectFloat4(actual: number[] | undefined, expected: number[]): void {
  expect(actual?.map((v) => Math.fround(v))).toEqual(expected.map((v) => Math.fround(v)));
}

function sorted(ids: Iterable<string>): string[] {
  return [...ids].sort();
}

async function hnswIndexDefs(collectionId: string): Promise<string[]> {
  const owner = await ownerClient();
  try {
    const r = await owner.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE tablename = $1 AND indexdef ILIKE '%USING hnsw%'`,
      [`vectors_c_${collectionId.replace(/-/g, '')}`],
    );
    return r.rows.map((row) => row.indexdef);
  } finally {
    await owner.end();
  }
}

describe('vectors (e2e)', () => {
  let api: TestApp;

  beforeAll(async () => {
    api = await startApp();
  });
  afterAll(() => api.close());

  describe('collections', () => {
    it('creates a collection and returns its name, dimension, metric, index and creation time', async () => {
      const t = await api.createTenant();
      const r = await t.request('POST', '/collections', {
        name: 'docs',
        dimension: 8,
        metric: 'l2',
      });
      expect(r.status).toBe(201);
      expect(r.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: 'docs',
        dimension: 8,
        metric: 'l2',
        index: { kind: 'hnsw', approximateSearch: true },
        createdAt: expect.any(String),
      });
      expect(Number.isNaN(Date.parse(r.body.createdAt))).toBe(false);
    });

    it('defaults the metric to cosine and accepts cosine, l2 and dot', async () => {
      const t = await api.createTenant();
      expect(
        (await t.request('POST', '/collections', { name: 'd', dimension: 3 })).body.metric,
      ).toBe('cosine');
      for (const metric of ['cosine', 'l2', 'dot'] as const) {
        const r = await t.request('POST', '/collections', {
          name: `m-${metric}`,
          dimension: 3,
          metric,
        });
        expect(r.status).toBe(201);
        expect(r.body.metric).toBe(metric);
      }
    });

    it.each([['hamming'], ['COSINE'], [''], [1]])(
      'refuses metric %p with 400 validation_failed',
      async (metric) => {
        const t = await api.createTenant();
        expectProblem(
          await t.request('POST', '/collections', { name: 'x', dimension: 3, metric }),
          400,
          'validation_failed',
        );
        expect((await t.request('GET', '/collections')).body.items).toEqual([]);
      },
    );

    it.each([[0], [-1], [16001], [1.5], ['8'], [null]])(
      'refuses dimension %p with 400 validation_failed and creates nothing',
      async (dimension) => {
        const t = await api.createTenant();
        expectProblem(
          await t.request('POST', '/collections', { name: 'x', dimension }),
          400,
          'validation_failed',
        );
        expect((await t.request('GET', '/collections')).body.items).toEqual([]);
      },
    );

    it('accepts the dimension bounds 1 and 16000', async () => {
      const t = await api.createTenant();
      expect(
        (await t.request('POST', '/collections', { name: 'one', dimension: 1, metric: 'l2' }))
          .status,
      ).toBe(201);
      const big = await t.request('POST', '/collections', {
        name: 'big',
        dimension: 16000,
        metric: 'l2',
      });
      expect(big.status).toBe(201);
      expect(big.body.index.kind).toBe('none');
    });

    it('refuses a second collection with the same name in a tenant with 409 collection_exists, but not in another tenant', async () => {
      const t = await api.createTenant();
      const other = await api.createTenant();
      await t.collection('dup', 3);
      expectProblem(
        await t.request('POST', '/collections', { name: 'dup', dimension: 5 }),
        409,
        'collection_exists',
      );
      // The refused create left the first collection as it was.
      const got = await t.request('GET', '/collections/dup');
      expect(got.body.dimension).toBe(3);
      expect(
        (await other.request('POST', '/collections', { name: 'dup', dimension: 5 })).status,
      ).toBe(201);
    });

    it("lists the tenant's own collections, ordered by name", async () => {
      const t = await api.createTenant();
      const other = await api.createTenant();
      await t.collection('zeta', 3);
      await t.collection('alpha', 4, 'l2');
      await other.collection('beta', 3);
      const r = await t.request('GET', '/collections');
      expect(r.status).toBe(200);
      expect(r.body.items.map((c: { name: string }) => c.name)).toEqual(['alpha', 'zeta']);
      expect(r.body.items[0]).toMatchObject({ name: 'alpha', dimension: 4, metric: 'l2' });
    });

    it('reports the number of stored vectors on GET', async () => {
      const t = await api.createTenant();
      await t.collection('c', 2, 'l2');
      expect((await t.request('GET', '/collections/c')).body.vectorCount).toBe(0);
      await t.upsert('c', [
        { id: 'a', values: [1, 2] },
        { id: 'b', values: [3, 4] },
        { id: 'c', values: [5, 6] },
      ]);
      await t.upsert('c', [{ id: 'a', values: [0, 0] }]);
      const r = await t.request('GET', '/collections/c');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ name: 'c', dimension: 2, metric: 'l2', vectorCount: 3 });
    });

    it('answers 404 collection_not_found for a collection that does not exist or belongs to another tenant', async () => {
      const t = await api.createTenant();
      const other = await api.createTenant();
      await other.collection('theirs', 2);
      expectProblem(await t.request('GET', '/collections/nope'), 404, 'collection_not_found');
      expectProblem(await t.request('GET', '/collections/theirs'), 404, 'collection_not_found');
      expectProblem(await t.request('DELETE', '/collections/theirs'), 404, 'collection_not_found');
      expect((await other.request('GET', '/collections/theirs')).status).toBe(200);
    });

    it('deleting a collection removes it and its vectors; re-creating the name starts empty', async () => {
      const t = await api.createTenant();
      await t.collection('gone', 2, 'l2');
      await t.upsert('gone', [
        { id: 'a', values: [1, 2] },
        { id: 'b', values: [3, 4] },
      ]);
      const del = await t.request('DELETE', '/collections/gone');
      expect(del.status).toBe(204);
      expectProblem(await t.request('GET', '/collections/gone'), 404, 'collection_not_found');
      expectProblem(
        await t.request('POST', '/collections/gone/vectors/count', {}),
        404,
        'collection_not_found',
      );
      expectProblem(
        await t.request('POST', '/collections/gone/search', { vector: [1, 2], mode: 'exact' }),
        404,
        'collection_not_found',
      );
      expectProblem(await t.request('DELETE', '/collections/gone'), 404, 'collection_not_found');
      expect((await t.request('GET', '/collections')).body.items).toEqual([]);

      await t.collection('gone', 2, 'l2');
      expect((await t.request('GET', '/collections/gone')).body.vectorCount).toBe(0);
      expect(await count(t, 'gone')).toBe(0);
      expect(await fetchVectors(t, 'gone', ['a', 'b'])).toEqual({
        vectors: [],
        missing: ['a', 'b'],
      });
      expect((await search(t, 'gone', { vector: [1, 2], mode: 'exact' })).matches).toEqual([]);
    });

    it.each([
      [2000, 'hnsw', 'vector(2000)'],
      [2001, 'hnsw_halfvec', 'halfvec(2001)'],
      [4000, 'hnsw_halfvec', 'halfvec(4000)'],
      [4001, 'none', null],
    ] as const)(
      'gives a %i-dimension collection index kind %s, and builds that index',
      async (dimension, kind, indexType) => {
        const t = await api.createTenant();
        const r = await t.request('POST', '/collections', { name: 'c', dimension, metric: 'l2' });
        expect(r.status).toBe(201);
        expect(r.body.index.kind).toBe(kind);
        expect(r.body.index.approximateSearch).toBe(kind !== 'none');
        if (kind === 'hnsw') expect(r.body.index.note).toBeUndefined();
        else expect(r.body.index.note).toEqual(expect.any(String));
        const defs = await hnswIndexDefs(r.body.id);
        if (indexType === null) expect(defs).toEqual([]);
        else {
          expect(defs).toHaveLength(1);
          expect(defs[0]).toContain(indexType);
          expect(defs[0]).toContain(
            `${indexType.startsWith('half') ? 'halfvec' : 'vector'}_l2_ops`,
          );
        }
        // GET reports the same index as create did.
        expect((await t.request('GET', '/collections/c')).body.index).toEqual(r.body.index);
      },
    );

    it('above 4000 dimensions refuses approximate search with 400 approximate_search_unavailable and serves exact search', async () => {
      const t = await api.createTenant();
      const created = await t.request('POST', '/collections', {
        name: 'wide',
        dimension: 4001,
        metric: 'cosine',
      });
      expect(created.body.index).toEqual({
        kind: 'none',
        approximateSearch: false,
        note: expect.any(String),
      });
      const rand = prng(4001);
      const rows = Array.from({ length: 6 }, (_, i) => ({
        id: `w${i}`,
        values: randomVector(rand, 4001),
      }));
      expect(await t.upsert('wide', rows)).toMatchObject({ inserted: 6 });
      const query = randomVector(rand, 4001);

      expectProblem(
        await t.request('POST', '/collections/wide/search', { vector: query, mode: 'approximate' }),
        400,
        'approximate_search_unavailable',
      );
      const exact = await search(t, 'wide', { vector: query, mode: 'exact', topK: 4 });
      expect(exact.mode).toBe('exact');
      expect(rankingMismatches(exact.matches, bruteForceTopK('cosine', rows, query, 4))).toEqual(
        [],
      );
      // auto falls back to exact where there is no index.
      const auto = await search(t, 'wide', { vector: query, topK: 4 });
      expect(auto.mode).toBe('exact');
      expect(auto.matches.map((m) => m.id)).toEqual(exact.matches.map((m) => m.id));
    });

    it('a half-precision (hnsw_halfvec) collection finds the nearest vector approximately, scored at full precision', async () => {
      const t = await api.createTenant();
      await t.collection('half', 2001, 'cosine');
      const rand = prng(2001);
      const rows = Array.from({ length: 20 }, (_, i) => ({
        id: `h${i}`,
        values: randomVector(rand, 2001),
      }));
      await t.upsert('half', rows);
      const query = rows[7].values.map((v) => Math.fround(v + (rand() - 0.5) * 0.01));
      const r = await search(t, 'half', { vector: query, mode: 'approximate', topK: 3 });
      expect(r.mode).toBe('approximate');
      expect(r.matches[0].id).toBe('h7');
      expect(
        Math.abs(r.matches[0].score - score('cosine', rows[7].values, query)),
      ).toBeLessThanOrEqual(1e-4);
    });

    it('auto mode searches approximately when the collection has an index', async () => {
      const t = await api.createTenant();
      await t.collection('c', 2, 'l2');
      await t.upsert('c', [{ id: 'a', values: [1, 1] }]);
      expect((await search(t, 'c', { vector: [1, 1] })).mode).toBe('approximate');
      expect((await search(t, 'c', { vector: [1, 1], mode: 'exact' })).mode).toBe('exact');
    });
  });

  describe.each(['cosine', 'l2', 'dot'] as const)('search correctness, %s', (metric: Metric) => {
    const DIM = 16;
    let t: TestTenant;
    let rows: SeedRow[];
    let queries: number[][];

    beforeAll(async () => {
      t = await api.createTenant('search');
      await t.collection('s', DIM, metric);
      const rand = prng(metric.length * 7919 + 1);
      rows = Array.from({ length: 300 }, (_, i) => ({
        id: `v${String(i).padStart(3, '0')}`,
        values: randomVector(rand, DIM),
        metadata: { i, even: i % 2 === 0 },
      }));
      expect(await t.upsert('s', rows)).toEqual({ upserted: 300, inserted: 300, updated: 0 });
      // Random queries, a stored vector itself, and a scaled one (cosine ignores scale, dot and l2 do not).
      queries = [
        ...Array.from({ length: 5 }, () => randomVector(rand, DIM)),
        rows[42].values,
        rows[17].values.map((v) => Math.fround(v * 3)),
      ];
    });

    it(`exact search returns the brute-force top-k in order, with ${metric} scores within 1e-4`, async () => {
      for (const [qi, query] of queries.entries()) {
        for (const topK of [1, 10, 50]) {
          const r = await search(t, 's', { vector: query, topK, mode: 'exact' });
          expect(r.mode).toBe('exact');
          const mismatches = rankingMismatches(
            r.matches,
            bruteForceTopK(metric, rows, query, topK),
          );
          expect({ query: qi, topK, mismatches }).toEqual({ query: qi, topK, mismatches: [] });
        }
      }
    });

    it('exact search with topK above the row count returns every row, ranked', async () => {
      const r = await search(t, 's', {
        vector: queries[0],
        topK: 1000,
        mode: 'exact',
        includeMetadata: false,
      });
      expect(r.matches).toHaveLength(300);
      expect(rankingMismatches(r.matches, bruteForceTopK(metric, rows, queries[0], 1000))).toEqual(
        [],
      );
    });

    it('exact search with a filter ranks only the matching rows', async () => {
      const r = await search(t, 's', {
        vector: queries[1],
        topK: 20,
        mode: 'exact',
        filter: { even: true },
      });
      const even = rows.filter((row) => row.metadata.even === true);
      expect(rankingMismatches(r.matches, bruteForceTopK(metric, even, queries[1], 20))).toEqual(
        [],
      );
    });

    it('search returns metadata by default and values only when asked', async () => {
      const plain = await t.request('POST', '/collections/s/search', {
        vector: queries[5],
        topK: 1,
        mode: 'exact',
      });
      expect(plain.body.matches[0]).toEqual({
        id: 'v042',
        score: expect.any(Number),
        metadata: { i: 42, even: true },
      });
      const full = await t.request('POST', '/collections/s/search', {
        vector: queries[5],
        topK: 1,
        mode: 'exact',
        includeValues: true,
        includeMetadata: false,
      });
      expect(Object.keys(full.body.matches[0]).sort()).toEqual(['id', 'score', 'values']);
      expectFloat4(full.body.matches[0].values, rows[42].values);
    });

    it('approximate search recalls at least 90% of the exact top-10', async () => {
      let found = 0;
      let wanted = 0;
      for (const query of queries) {
        const exact = bruteForceTopK(metric, rows, query, 10).map((m) => m.id);
        const r = await search(t, 's', { vector: query, topK: 10, mode: 'approximate' });
        expect(r.mode).toBe('approximate');
        expect(r.matches.length).toBe(10);
        // Scores are exact even when the candidate set is approximate.
        for (const m of r.matches) {
          const row = rows.find((x) => x.id === m.id)!;
          expect(Math.abs(m.score - score(metric, row.values, query))).toBeLessThanOrEqual(1e-4);
        }
        found += r.matches.filter((m) => exact.includes(m.id)).length;
        wanted += exact.length;
      }
      expect(found / wanted).toBeGreaterThanOrEqual(0.9);
    });
  });

  describe('metadata filters', () => {
    const ROWS = seedRows(160);
    let t: TestTenant;
    let copies = 0;

    function expectedIds(filter: object): string[] {
      return sorted(ROWS.filter((r) => evaluateFilter(filter, r.metadata)).map((r) => r.id));
    }

    beforeAll(async () => {
      t = await api.createTenant('filters');
      await t.collection('f', 2, 'l2');
      await t.upsert('f', ROWS);
    });

    it('the seeded data and filters discriminate: most filters select some rows but not all', () => {
      const discriminating = FILTERS.filter((f) => {
        const n = expectedIds(f).length;
        return n > 0 && n < ROWS.length;
      });
      expect(discriminating.length).toBeGreaterThanOrEqual(FILTERS.length * 0.8);
    });

    it.each(FILTERS.map((f) => [JSON.stringify(f), f] as const))(
      'search, count and delete-by-filter select exactly the rows evaluateFilter selects: %s',
      async (_label, filter) => {
        const expected = expectedIds(filter);

        const found = await search(t, 'f', {
          vector: [0, 0],
          topK: 1000,
          mode: 'exact',
          filter,
          includeMetadata: false,
        });
        expect(sorted(found.matches.map((m) => m.id))).toEqual(expected);

        expect(await count(t, 'f', filter)).toBe(expected.length);

        // Delete on a fresh copy, so this test neither depends on nor disturbs the others.
        const copy = `copy-${++copies}`;
        await t.collection(copy, 2, 'l2');
        await t.upsert(copy, ROWS);
        const del = await t.request('POST', `/collections/${copy}/vectors/delete`, { filter });
        expect(del.status).toBe(200);
        expect(del.body).toEqual({ deleted: expected.length });
        const left = await search(t, copy, {
          vector: [0, 0],
          topK: 1000,
          mode: 'exact',
          includeMetadata: false,
        });
        const expectedLeft = sorted(ROWS.map((r) => r.id).filter((id) => !expected.includes(id)));
        expect(sorted(left.matches.map((m) => m.id))).toEqual(expectedLeft);
        expect((await t.request('DELETE', `/collections/${copy}`)).status).toBe(204);
      },
    );

    it.each([
      { category: 'shoes' },
      { 'dims.w': { $gte: 10 } },
      { $or: [{ category: 'hats' }, { inStock: false }] },
      { added: { $gte: '2024-03-01' } },
    ])(
      'approximate search with filter %j returns only matching rows and most of the exact ones',
      async (filter) => {
        const expected = expectedIds(filter);
        const topK = 10;
        const r = await search(t, 'f', {
          vector: [0.25, -0.5],
          topK,
          mode: 'approximate',
          filter,
          includeMetadata: false,
        });
        expect(r.mode).toBe('approximate');
        const ids = r.matches.map((m) => m.id);
        expect(ids.filter((id) => !expected.includes(id))).toEqual([]);
        const exact = await search(t, 'f', {
          vector: [0.25, -0.5],
          topK,
          mode: 'exact',
          filter,
          includeMetadata: false,
        });
        const recalled = exact.matches.filter((m) => ids.includes(m.id)).length;
        expect(recalled / exact.matches.length).toBeGreaterThanOrEqual(0.9);
      },
    );

    it('count without a filter, or with an empty one, counts every vector', async () => {
      expect(await count(t, 'f')).toBe(ROWS.length);
      expect(await count(t, 'f', {})).toBe(ROWS.length);
    });
  });

  describe('upsert, fetch and delete', () => {
    it('counts inserted and updated vectors separately', async () => {
      const t = await api.createTenant();
      await t.collection('c', 3, 'l2');
      expect(
        await t.upsert('c', [
          { id: 'a', values: [1, 0, 0] },
          { id: 'b', values: [0, 1, 0] },
          { id: 'c', values: [0, 0, 1] },
        ]),
      ).toEqual({ upserted: 3, inserted: 3, updated: 0 });
      expect(
        await t.upsert('c', [
          { id: 'b', values: [1, 1, 0] },
          { id: 'd', values: [1, 1, 1] },
          { id: 'a', values: [2, 0, 0] },
        ]),
      ).toEqual({ upserted: 3, inserted: 1, updated: 2 });
      expect(await count(t, 'c')).toBe(4);
    });

    it('re-upserting an id replaces its values and its whole metadata', async () => {
      const t = await api.createTenant();
      await t.collection('c', 3, 'l2');
      await t.upsert('c', [{ id: 'a', values: [1, 2, 3], metadata: { color: 'red', size: 1 } }]);
      await t.upsert('c', [{ id: 'a', values: [0.1, -0.2, 1 / 3], metadata: { shape: 'round' } }]);
      const f = await fetchVectors(t, 'c', ['a']);
      expect(f.vectors).toHaveLength(1);
      expectFloat4(f.vectors[0].values, [0.1, -0.2, 1 / 3]);
      expect(f.vectors[0].metadata).toEqual({ shape: 'round' });
      expect(await count(t, 'c', { color: 'red' })).toBe(0);
      expect(await count(t, 'c', { shape: 'round' })).toBe(1);
      const s = await search(t, 'c', { vector: [0.1, -0.2, 1 / 3], topK: 1, mode: 'exact' });
      expect(s.matches[0].score).toBeLessThanOrEqual(1e-6);
    });

    it('fetch returns float4 values and metadata in the order asked, and lists unknown ids as missing', async () => {
      const t = await api.createTenant();
      await t.collection('c', 4, 'dot');
      const metadata = {
        n: 1.5,
        s: 'x',
        b: false,
        arr: [1, 'two', null],
        nested: { deep: { k: 'v' } },
        nil: null,
      };
      await t.upsert('c', [
        { id: 'x', values: [0.1, 0.2, 0.3, 1e-8], metadata },
        { id: 'y', values: [3.4e38, -3.4e38, 1e-45, 0] },
        { id: 'z', values: [1, 2, 3, 4], metadata: { z: 1 } },
      ]);
      const f = await fetchVectors(t, 'c', ['y', 'nope', 'x', 'also-nope']);
      expect(f.vectors.map((v) => v.id)).toEqual(['y', 'x']);
      expect(f.missing).toEqual(['nope', 'also-nope']);
      expectFloat4(f.vectors[0].values, [3.4e38, -3.4e38, 1e-45, 0]);
      expect(f.vectors[0].metadata).toEqual({});
      expectFloat4(f.vectors[1].values, [0.1, 0.2, 0.3, 1e-8]);
      expect(f.vectors[1].metadata).toEqual(metadata);
    });

    it('fetch leaves out values or metadata when asked to', async () => {
      const t = await api.createTenant();
      await t.collection('c', 2, 'l2');
      await t.upsert('c', [{ id: 'a', values: [1, 2], metadata: { k: 1 } }]);
      expect((await fetchVectors(t, 'c', ['a'], { includeValues: false })).vectors).toEqual([
        { id: 'a', metadata: { k: 1 } },
      ]);
      expect((await fetchVectors(t, 'c', ['a'], { includeMetadata: false })).vectors).toEqual([
        { id: 'a', values: [1, 2] },
      ]);
    });

    it('delete by ids returns how many existed and removes only those', async () => {
      const t = await api.createTenant();
      await t.collection('c', 2, 'l2');
      await t.upsert('c', [
        { id: 'a', values: [1, 2] },
        { id: 'b', values: [3, 4] },
        { id: 'c', values: [5, 6] },
      ]);
      const r = await t.request('POST', '/collections/c/vectors/delete', {
        ids: ['a', 'c', 'unknown'],
      });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ deleted: 2 });
      expect(await fetchVectors(t, 'c', ['a', 'b', 'c'])).toMatchObject({
        vectors: [{ id: 'b' }],
        missing: ['a', 'c'],
      });
      expect(
        (await t.request('POST', '/collections/c/vectors/delete', { ids: ['a'] })).body,
      ).toEqual({ deleted: 0 });
    });

    it('delete by filter returns how many matched and removes only those', async () => {
      const t = await api.createTenant();
      await t.collection('c', 2, 'l2');
      await t.upsert('c', [
        { id: 'a', values: [1, 2], metadata: { tier: 1 } },
        { id: 'b', values: [3, 4], metadata: { tier: 2 } },
        { id: 'c', values: [5, 6], metadata: { tier: 3 } },
        { id: 'd', values: [7, 8] },
      ]);
      const r = await t.request('POST', '/collections/c/vectors/delete', {
        filter: { tier: { $gte: 2 } },
      });
      expect(r.body).toEqual({ deleted: 2 });
      expect((await fetchVectors(t, 'c', ['a', 'b', 'c', 'd'])).missing).toEqual(['b', 'c']);
    });

    it.each([
      ['both ids and filter', { ids: ['a'], filter: { tier: 1 } }],
      ['neither ids nor filter', {}],
      ['an empty filter', { filter: {} }],
    ])(
      'delete with %s is refused with 400 invalid_delete_request and deletes nothing',
      async (_label, body) => {
        const t = await api.createTenant();
        await t.collection('c', 2, 'l2');
        await t.upsert('c', [
          { id: 'a', values: [1, 2], metadata: { tier: 1 } },
          { id: 'b', values: [3, 4] },
        ]);
        expectProblem(
          await t.request('POST', '/collections/c/vectors/delete', body),
          400,
          'invalid_delete_request',
        );
        expect(await count(t, 'c')).toBe(2);
      },
    );

    it('a zero vector is accepted in l2 and dot collections', async () => {
      const t = await api.createTenant();
      await t.collection('l', 2, 'l2');
      await t.collection('d', 2, 'dot');
      expect(await t.upsert('l', [{ id: 'z', values: [0, 0] }])).toMatchObject({ inserted: 1 });
      expect(await t.upsert('d', [{ id: 'z', values: [0, 0] }])).toMatchObject({ inserted: 1 });
    });
  });

  describe('bad input', () => {
    const DIM = 4;
    const GOOD = (id: string) => ({ id, values: [0.5, -0.25, 0.125, 1], metadata: { ok: true } });
    let t: TestTenant;

    beforeAll(async () => {
      t = await api.createTenant('bad');
      await t.collection('c', DIM, 'cosine');
      await t.upsert('c', [
        GOOD('existing-1'),
        GOOD('existing-2'),
        { id: 'kept', values: [1, 2, 3, 4], metadata: { v: 1 } },
      ]);
    });

    /** Runs a request that must be refused, and checks that nothing changed. */
    async function expectRefused(
      path: string,
      body: unknown,
      status: number,
      code: string,
    ): Promise<void> {
      const before = await count(t, 'c');
      expectProblem(await send(t, 'POST', path, body), status, code);
      expect(await count(t, 'c')).toBe(before);
      const kept = await fetchVectors(t, 'c', ['kept']);
      expectFloat4(kept.vectors[0]?.values, [1, 2, 3, 4]);
      expect(kept.vectors[0]?.metadata).toEqual({ v: 1 });
    }

    const longMetadata = { text: 'x'.repeat(41 * 1024) };
    const BAD_ITEMS: Array<[string, unknown, string]> = [
      [
        '3 values in a 4-dimension collection',
        { id: 'n', values: [1, 2, 3] },
        'dimension_mismatch',
      ],
      [
        '5 values in a 4-dimension collection',
        { id: 'n', values: [1, 2, 3, 4, 5] },
        'dimension_mismatch',
      ],
      ['a value of 1e39 (beyond float4)', { id: 'n', values: [1, 1e39, 0, 0] }, 'invalid_vector'],
      ['a value of -1e39', { id: 'n', values: [1, -1e39, 0, 0] }, 'invalid_vector'],
      ['a value of 1e400 (Infinity)', { id: 'n', values: [1, INFINITY, 0, 0] }, 'invalid_vector'],
      ['a string value', { id: 'n', values: [1, '0.5', 0, 0] }, 'invalid_vector'],
      ['a null value', { id: 'n', values: [1, null, 0, 0] }, 'invalid_vector'],
      ['a boolean value', { id: 'n', values: [1, true, 0, 0] }, 'invalid_vector'],
      ['values that are not an array', { id: 'n', values: '1,2,3,4' }, 'invalid_vector'],
      ['no values', { id: 'n' }, 'invalid_vector'],
      ['a zero vector in a cosine collection', { id: 'n', values: [0, 0, 0, 0] }, 'zero_vector'],
      ['an empty id', { id: '', values: [1, 2, 3, 4] }, 'invalid_vector_id'],
      ['a 600-character id', { id: 'i'.repeat(600), values: [1, 2, 3, 4] }, 'invalid_vector_id'],
      ['an id containing NUL', { id: 'a\u0000b', values: [1, 2, 3, 4] }, 'invalid_vector_id'],
      ['a numeric id', { id: 7, values: [1, 2, 3, 4] }, 'invalid_vector_id'],
      ['no id', { values: [1, 2, 3, 4] }, 'invalid_vector_id'],
      ['array metadata', { id: 'n', values: [1, 2, 3, 4], metadata: ['a'] }, 'invalid_metadata'],
      ['null metadata', { id: 'n', values: [1, 2, 3, 4], metadata: null }, 'invalid_metadata'],
      ['string metadata', { id: 'n', values: [1, 2, 3, 4], metadata: 'x' }, 'invalid_metadata'],
      [
        'metadata over 40 KiB',
        { id: 'n', values: [1, 2, 3, 4], metadata: longMetadata },
        'invalid_metadata',
      ],
      [
        'metadata with NUL in a value',
        { id: 'n', values: [1, 2, 3, 4], metadata: { k: 'a\u0000' } },
        'invalid_metadata',
      ],
      [
        'metadata with NUL in a key',
        { id: 'n', values: [1, 2, 3, 4], metadata: { 'k\u0000': 1 } },
        'invalid_metadata',
      ],
      [
        'metadata with NUL deep inside',
        { id: 'n', values: [1, 2, 3, 4], metadata: { a: [{ b: '\u0000' }] } },
        'invalid_metadata',
      ],
      ['an unknown property', { id: 'n', values: [1, 2, 3, 4], vals: [1] }, 'invalid_vector'],
      ['an item that is not an object', [1, 2, 3, 4], 'invalid_vector'],
    ];

    // Label and code first, so test names read "... with <label> is refused with <code>".
    const ITEM_CASES = BAD_ITEMS.map(([label, item, code]) => [label, code, item] as const);

    it.each(ITEM_CASES)(
      'upsert of a single item with %s is refused with 400 %s',
      async (_label, code, item) => {
        await expectRefused('/collections/c/vectors', { vectors: [item] }, 400, code);
      },
    );

    it.each(ITEM_CASES)(
      'a batch whose last item has %s is refused whole with 400 %s: nothing inserted, nothing updated',
      async (_label, code, item) => {
        const batch = [
          { id: 'kept', values: [9, 9, 9, 9], metadata: { v: 2 } },
          GOOD('new-1'),
          GOOD('new-2'),
          item,
        ];
        await expectRefused('/collections/c/vectors', { vectors: batch }, 400, code);
        expect((await fetchVectors(t, 'c', ['new-1', 'new-2'])).missing).toEqual([
          'new-1',
          'new-2',
        ]);
      },
    );

    it('a batch repeating an id is refused with 400 duplicate_vector_id and stores nothing', async () => {
      await expectRefused(
        '/collections/c/vectors',
        { vectors: [GOOD('d-1'), { id: 'kept', values: [9, 9, 9, 9] }, GOOD('d-2'), GOOD('d-1')] },
        400,
        'duplicate_vector_id',
      );
      expect((await fetchVectors(t, 'c', ['d-1', 'd-2'])).missing).toEqual(['d-1', 'd-2']);
    });

    it('a batch of 1001 vectors is refused with 400 batch_too_large and stores nothing', async () => {
      const vectors = Array.from({ length: 1001 }, (_, i) => GOOD(`big-${i}`));
      await expectRefused('/collections/c/vectors', { vectors }, 400, 'batch_too_large');
      expect((await fetchVectors(t, 'c', ['big-0', 'big-1000'])).missing).toHaveLength(2);
    });

    it('a batch of exactly 1000 vectors is accepted', async () => {
      const t2 = await api.createTenant();
      await t2.collection('c', DIM, 'cosine');
      const vectors = Array.from({ length: 1000 }, (_, i) => GOOD(`ok-${i}`));
      expect(await t2.upsert('c', vectors)).toEqual({ upserted: 1000, inserted: 1000, updated: 0 });
    });

    it('an empty batch is refused with 400 empty_batch', async () => {
      await expectRefused('/collections/c/vectors', { vectors: [] }, 400, 'empty_batch');
    });

    it.each([
      ['vectors that is not an array', { vectors: { id: 'a' } }],
      ['no vectors', {}],
      ['an unknown top-level property', { vectors: [GOOD('u')], extra: 1 }],
    ])('upsert with %s is refused with 400 validation_failed', async (_label, body) => {
      await expectRefused('/collections/c/vectors', body, 400, 'validation_failed');
    });

    const Q = [0.5, 0.5, 0.5, 0.5];
    function deeplyNested(levels: number): object {
      let f: object = { k: 1 };
      for (let i = 0; i < levels; i++) f = { $not: f };
      return f;
    }
    const BAD_FILTERS: Array<[string, unknown]> = [
      ['an unknown top-level operator', { $where: 'x' }],
      ['an unknown field operator', { price: { $regex: 'x' } }],
      ['$exists, which is not supported', { price: { $exists: true } }],
      ['$in with a non-array', { category: { $in: 'shoes' } }],
      ['$nin with a non-array', { category: { $nin: 1 } }],
      ['an empty $in', { category: { $in: [] } }],
      ['$gt with a string that is not a date', { price: { $gt: 'ten' } }],
      ['$lt with a boolean', { price: { $lt: true } }],
      ['$and with a non-array', { $and: { a: 1 } }],
      ['an empty $or', { $or: [] }],
      ['a path with an empty segment', { 'a..b': 1 }],
      ['a path with a space', { 'a b': 1 }],
      ['a path with a quote', { "a'b": 1 }],
      ['a path of nine segments', { 'a.b.c.d.e.f.g.h.i': 1 }],
      ['operators mixed with plain keys', { price: { $gt: 1, x: 2 } }],
      ['logical operators nested 11 deep', deeplyNested(11)],
      ['a NUL in a value', { k: 'a\u0000' }],
    ];

    it.each(BAD_FILTERS)(
      'search with %s is refused with 400 invalid_filter',
      async (_label, filter) => {
        await expectRefused(
          '/collections/c/search',
          { vector: Q, filter, mode: 'exact' },
          400,
          'invalid_filter',
        );
      },
    );

    it.each(BAD_FILTERS)(
      'count with %s is refused with 400 invalid_filter',
      async (_label, filter) => {
        await expectRefused('/collections/c/vectors/count', { filter }, 400, 'invalid_filter');
      },
    );

    it.each(BAD_FILTERS)(
      'delete with %s is refused with 400 invalid_filter and deletes nothing',
      async (_label, filter) => {
        await expectRefused('/collections/c/vectors/delete', { filter }, 400, 'invalid_filter');
      },
    );

    it('filters nested 10 deep are accepted', async () => {
      expect(
        (await t.request('POST', '/collections/c/vectors/count', { filter: deeplyNested(10) }))
          .status,
      ).toBe(200);
    });

    const SEARCH_CASES: Array<[string, Record<string, unknown>, string]> = [
      ['a 3-value query', { vector: [1, 2, 3] }, 'dimension_mismatch'],
      ['an empty query', { vector: [] }, 'dimension_mismatch'],
      ['a query with 1e39', { vector: [1, 1e39, 0, 0] }, 'invalid_vector'],
      ['a query with 1e400', { vector: [1, INFINITY, 0, 0] }, 'invalid_vector'],
      ['a query with a string', { vector: [1, 'x', 0, 0] }, 'invalid_vector'],
      ['a query with null', { vector: [1, null, 0, 0] }, 'invalid_vector'],
      ['a zero query on a cosine collection', { vector: [0, 0, 0, 0] }, 'zero_vector'],
      ['topK 0', { vector: Q, topK: 0 }, 'validation_failed'],
      ['topK 1001', { vector: Q, topK: 1001 }, 'validation_failed'],
      ['topK 2.5', { vector: Q, topK: 2.5 }, 'validation_failed'],
      ['topK "5"', { vector: Q, topK: '5' }, 'validation_failed'],
      ['mode "fuzzy"', { vector: Q, mode: 'fuzzy' }, 'validation_failed'],
      ['efSearch 0', { vector: Q, efSearch: 0 }, 'validation_failed'],
      ['no vector', { topK: 3 }, 'validation_failed'],
      ['a filter that is an array', { vector: Q, filter: [{ k: 1 }] }, 'validation_failed'],
      ['an unknown property', { vector: Q, limit: 3 }, 'validation_failed'],
    ];

    it.each(SEARCH_CASES.map(([label, body, code]) => [label, code, body] as const))(
      'search with %s is refused with 400 %s, in exact and approximate mode',
      async (_label, code, body) => {
        for (const mode of ['exact', 'approximate']) {
          const withMode = 'mode' in body ? body : { ...body, mode };
          await expectRefused('/collections/c/search', withMode, 400, code);
        }
      },
    );

    it('topK 1 and 1000 are accepted', async () => {
      for (const topK of [1, 1000]) {
        expect((await t.request('POST', '/collections/c/search', { vector: Q, topK })).status).toBe(
          200,
        );
      }
    });

    it.each([
      ['upsert', 'POST', '/collections/nope/vectors', { vectors: [GOOD('a')] }],
      ['fetch', 'POST', '/collections/nope/vectors/fetch', { ids: ['a'] }],
      ['delete by ids', 'POST', '/collections/nope/vectors/delete', { ids: ['a'] }],
      ['delete by filter', 'POST', '/collections/nope/vectors/delete', { filter: { a: 1 } }],
      ['count', 'POST', '/collections/nope/vectors/count', {}],
      ['search', 'POST', '/collections/nope/search', { vector: Q }],
      ['get', 'GET', '/collections/nope', undefined],
      ['delete', 'DELETE', '/collections/nope', undefined],
    ])(
      '%s on an unknown collection answers 404 collection_not_found',
      async (_label, method, path, body) => {
        expectProblem(await t.request(method, path, body), 404, 'collection_not_found');
        expect(await count(t, 'c')).toBe(3);
      },
    );

    it.each([
      ['a NUL', 'a%00b'],
      ['a control character', 'a%01b'],
      ['a space and a slash', 'a%20b%2Fc'],
      ['90 characters', 'n'.repeat(90)],
    ])(
      'a collection name in the path with %s answers 404 collection_not_found, never a 500',
      async (_label, name) => {
        expectProblem(await t.request('GET', `/collections/${name}`), 404, 'collection_not_found');
        expectProblem(
          await t.request('POST', `/collections/${name}/search`, { vector: Q }),
          404,
          'collection_not_found',
        );
      },
    );

    it.each([
      ['no ids', {}],
      ['empty ids', { ids: [] }],
      ['a non-string id', { ids: [1] }],
      ['1001 ids', { ids: Array.from({ length: 1001 }, (_, i) => `x${i}`) }],
    ])('fetch with %s is refused with 400 validation_failed', async (_label, body) => {
      expectProblem(
        await t.request('POST', '/collections/c/vectors/fetch', body),
        400,
        'validation_failed',
      );
    });

    it('fetch of an id containing NUL reports it missing or refuses it with a 400, never a 500', async () => {
      const fetched = await t.request('POST', '/collections/c/vectors/fetch', {
        ids: ['kept', 'a\u0000b'],
      });
      if (fetched.status === 200) {
        expect(fetched.body.vectors.map((v: { id: string }) => v.id)).toEqual(['kept']);
        expect(fetched.body.missing).toEqual(['a\u0000b']);
      } else expectProblem(fetched, 400, fetched.body?.code);
    });

    it('delete of an id containing NUL deletes nothing or refuses it with a 400, never a 500', async () => {
      const before = await count(t, 'c');
      const deleted = await t.request('POST', '/collections/c/vectors/delete', {
        ids: ['a\u0000b'],
      });
      if (deleted.status === 200) expect(deleted.body).toEqual({ deleted: 0 });
      else expectProblem(deleted, 400, deleted.body?.code);
      expect(await count(t, 'c')).toBe(before);
    });
  });
});
