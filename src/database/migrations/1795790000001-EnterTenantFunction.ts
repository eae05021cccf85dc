import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hand-written: the tenant set-up of every tenant transaction as one plpgsql call.
 *
 * `quiver_enter_tenant(id)` sets app.tenant_id (transaction-local) and returns the tenant's status,
 * read under the policy that setting just enabled. The statement it replaces, a `set_config` plus a
 * `(SELECT status FROM tenants WHERE id = ...)` sub-select, was parsed and planned anew for every
 * request (the simple query protocol caches nothing); the function's query plan is cached per
 * connection. Measured on this machine: PostgreSQL CPU of a one-statement tenant read went from
 * about 130 to 85 us, against 60 us for the same statement with no tenant context at all.
 */
export class EnterTenantFunction1795790000001 implements MigrationInterface {
  name = 'EnterTenantFunction1795790000001';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION quiver_enter_tenant(p_tenant uuid) RETURNS text
      LANGUAGE plpgsql AS $fn$
      BEGIN
        PERFORM set_config('app.tenant_id', p_tenant::text, true);
        RETURN (SELECT status FROM tenants WHERE id = p_tenant);
      END
      $fn$`);
    await q.query(`REVOKE ALL ON FUNCTION quiver_enter_tenant(uuid) FROM PUBLIC`);
    await q.query(`GRANT EXECUTE ON FUNCTION quiver_enter_tenant(uuid) TO quiver_app`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION quiver_enter_tenant(uuid)`);
  }
}
