import { MigrationInterface, QueryRunner } from 'typeorm';

const EF_SEARCH = `PERFORM set_config('hnsw.ef_search', LEAST(1000, GREATEST(p_top_k, COALESCE(p_ef,
          (SELECT (t.settings #>> '{search,efSearch}')::int FROM tenants t
            WHERE t.id = NULLIF(current_setting('app.tenant_id', true), '')::uuid),
          p_default_ef)))::text, true);`;

function definition(presence: string): string {
  return `
      CREATE OR REPLACE FUNCTION quiver_search_setup(p_collection uuid, p_ef int, p_default_ef int, p_top_k int)
      RETURNS boolean
      LANGUAGE plpgsql AS $fn$
      BEGIN
        ${EF_SEARCH}
        RETURN ${presence};
      END
      $fn$`;
}

/**
 * Hand-written: `quiver_search_setup(NULL, ...)` only sets ef_search and answers true. The filtered
 * (transactional) search path calls it in the statement that has just found the collection by name,
 * where checking the collection's presence again was a second index lookup for nothing; the one-trip
 * path still passes the remembered collection's id and gets the visibility check. Same signature and
 * grants, so the function is replaced in place.
 */
export class SearchSetupWithoutCollection1795790000003 implements MigrationInterface {
  name = 'SearchSetupWithoutCollection1795790000003';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(
      definition(
        'p_collection IS NULL OR EXISTS (SELECT 1 FROM collections WHERE id = p_collection)',
      ),
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(definition('EXISTS (SELECT 1 FROM collections WHERE id = p_collection)'));
  }
}
