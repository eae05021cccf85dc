import type { CollectionRow } from './collections.service';
import { oneTripStatements } from './one-trip-search';
import { searchSql } from './vectors.service';

const TENANT = '8a3c2b1e-0f6d-4c4e-9d7a-2b5e6f7a8b9c';
const collection: CollectionRow = {
  tenant_id: TENANT,
  id: '1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b',
  name: 'docs',
  dimension: 3,
  metric: 'cosine',
  index_kind: 'hnsw',
  created_at: new Date(0),
};
const sql = searchSql(collection, 'approximate', 'TRUE', false, true);

describe('oneTripStatements', () => {
  it('inlines the vector, tenant and limit into the search and leaves no placeholder', () => {
    const [setup, search] = oneTripStatements(
      TENANT,
      collection,
      { sql, vector: [0.5, -1e-7, 3], topK: 7 },
      100,
    );
    expect(search).not.toMatch(/\$\d/);
    expect(search).toContain(`'[0.500000000,-1.00000001e-7,3]'::vector`);
    expect(search).toContain(`tenant_id = '${TENANT}'`);
    expect(search).toContain("LIMIT '7'");
    expect(setup).toEqual({
      text: 'quiver_search_setup($1::uuid, $2::int, $3::int, $4::int) AS present',
      values: [collection.id, null, 100, 7],
    });
  });

  it('takes the request efSearch when given', () => {
    const [setup] = oneTripStatements(
      TENANT,
      collection,
      { sql, vector: [1, 0, 0], topK: 10, efSearch: 250 },
      100,
    );
    expect(setup.values).toEqual([collection.id, 250, 100, 10]);
  });

  it('refuses anything that is not safe to inline', () => {
    const q = { sql, vector: [1, 0, 0], topK: 10 };
    expect(() => oneTripStatements("x' OR true --", collection, q, 100)).toThrow();
    expect(() => oneTripStatements(TENANT, { ...collection, id: 'nope' }, q, 100)).toThrow();
    expect(() => oneTripStatements(TENANT, collection, { ...q, topK: 1.5 }, 100)).toThrow();
    expect(() =>
      oneTripStatements(TENANT, collection, { ...q, efSearch: Number.NaN }, 100),
    ).toThrow();
    expect(() =>
      oneTripStatements(TENANT, collection, { ...q, vector: [NaN, 0, 0] }, 100),
    ).toThrow();
    expect(() =>
      oneTripStatements(TENANT, collection, { ...q, sql: `${sql} AND x = $4` }, 100),
    ).toThrow(/\$4/);
  });
});
