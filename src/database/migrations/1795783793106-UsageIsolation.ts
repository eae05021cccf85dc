import { MigrationInterface, QueryRunner } from 'typeorm';

const TENANT_PREDICATE = `tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid`;
const TABLES = ['usage_rollups', 'usage_storage'];

/**
 * Hand-written: row-level security on the usage rollups. A tenant transaction sees and writes its
 * own rows; a platform transaction may read every tenant's (leaderboard, billing export), never
 * write them.
 */
export class UsageIsolation1795783793106 implements MigrationInterface {
  name = 'UsageIsolation1795783793106';

  public async up(q: QueryRunner): Promise<void> {
    for (const table of TABLES) {
      await q.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      await q.query(`ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`);
      await q.query(
        `CREATE POLICY tenant_isolation ON ${table} USING (${TENANT_PREDICATE}) WITH CHECK (${TENANT_PREDICATE})`,
      );
      await q.query(
        `CREATE POLICY platform_read ON ${table} FOR SELECT USING (current_setting('app.platform', true) = 'on')`,
      );
      await q.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO quiver_app`);
    }
  }

  public async down(q: QueryRunner): Promise<void> {
    for (const table of TABLES) {
      await q.query(`REVOKE ALL ON ${table} FROM quiver_app`);
      await q.query(`DROP POLICY platform_read ON ${table}`);
      await q.query(`DROP POLICY tenant_isolation ON ${table}`);
      await q.query(`ALTER TABLE ${table} NO FORCE ROW LEVEL SECURITY`);
      await q.query(`ALTER TABLE ${table} DISABLE ROW LEVEL SECURITY`);
    }
  }
}
