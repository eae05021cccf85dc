import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hand-written: the key-lookup policy on tenants without a sub-select.
 *
 * The old policy, `id IN (SELECT tenant_id FROM api_keys)`, is part of every query that reads tenants
 * (the tenant status every data-plane transaction checks, the tenant's search settings), so the
 * planner expanded it, with api_keys' own policies nested inside, for every such statement: about
 * 0.1-0.2 ms of planning per request, for a branch that only a key lookup ever needs. The same rule
 * now sits in a plpgsql function, whose query plan each connection caches and which returns at once
 * when no key hash is set. It runs with the caller's rights, so api_keys' policies still decide which
 * key it can see: exactly the one whose hash the transaction holds.
 */
export class CheapKeyLookupPolicy1795790000000 implements MigrationInterface {
  name = 'CheapKeyLookupPolicy1795790000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION quiver_key_tenant() RETURNS uuid
      LANGUAGE plpgsql STABLE AS $fn$
      DECLARE
        h bytea := decode(NULLIF(current_setting('app.key_hash', true), ''), 'hex');
      BEGIN
        IF h IS NULL THEN
          RETURN NULL;
        END IF;
        RETURN (SELECT tenant_id FROM api_keys WHERE secret_hash = h OR previous_secret_hash = h LIMIT 1);
      END
      $fn$`);
    await q.query(`REVOKE ALL ON FUNCTION quiver_key_tenant() FROM PUBLIC`);
    await q.query(`GRANT EXECUTE ON FUNCTION quiver_key_tenant() TO quiver_app`);
    await q.query(`DROP POLICY key_lookup ON tenants`);
    await q.query(
      `CREATE POLICY key_lookup ON tenants FOR SELECT USING (id = quiver_key_tenant())`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP POLICY key_lookup ON tenants`);
    await q.query(
      `CREATE POLICY key_lookup ON tenants FOR SELECT USING (id IN (SELECT tenant_id FROM api_keys))`,
    );
    await q.query(`DROP FUNCTION quiver_key_tenant()`);
  }
}
