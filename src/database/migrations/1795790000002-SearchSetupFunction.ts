import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hand-written: the search set-up of the one-trip search (src/vectors/one-trip-search.ts) as one
 * plpgsql call.
 *
 * `quiver_search_setup(collection, ef, default_ef, top_k)` sets hnsw.ef_search for the transaction
 * (the request's efSearch, else the tenant's settings.search.efSearch, else the server default, never
 * below topK, at most 1,000) and answers whether the remembered collection is still visible. It runs
 * after the role and app.tenant_id are set, so row-level security filters both reads. The two
 * sub-selects it replaces were parsed and planned anew for every search (the simple query protocol
 * caches nothing): measured with pgbench on this machine, they cost about 120 us of PostgreSQL time
 * per search, the function with its cached plans about 25 us (decision 76).
 */
export class SearchSetupFunction1795790000002 implements MigrationInterface {
  name = 'SearchSetupFunction1795790000002';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION quiver_search_setup(p_collection uuid, p_ef int, p_default_ef int, p_top_k int)
      RETURNS boolean
      LANGUAGE plpgsql AS $fn$
      BEGIN
        PERFORM set_config('hnsw.ef_search', LEAST(1000, GREATEST(p_top_k, COALESCE(p_ef,
          (SELECT (t.settings #>> '{search,efSearch}')::int FROM tenants t
            WHERE t.id = NULLIF(current_setting('app.tenant_id', true), '')::uuid),
          p_default_ef)))::text, true);
        RETURN EXISTS (SELECT 1 FROM collections WHERE id = p_collection);
      END
      $fn$`);
    await q.query(`REVOKE ALL ON FUNCTION quiver_search_setup(uuid, int, int, int) FROM PUBLIC`);
    await q.query(
      `GRANT EXECUTE ON FUNCTION quiver_search_setup(uuid, int, int, int) TO quiver_app`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION quiver_search_setup(uuid, int, int, int)`);
  }
}
