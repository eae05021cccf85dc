import { MigrationInterface, QueryRunner } from 'typeorm';

const TENANT_PREDICATE = `tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid`;
const PLATFORM = `current_setting('app.platform', true) = 'on'`;

/**
 * Hand-written: row-level security on the quota tables, the counter function and the triggers
 * that count vectors and stored bytes exactly, and the backfill of the counters of existing
 * tenants.
 *
 * Vectors are counted by statement-level triggers with transition tables, not by the app: only the
 * database knows, after an INSERT ... ON CONFLICT DO UPDATE, which rows were inserted and what the
 * replaced rows held (a partitioned table cannot return xmax, and a snapshot read before the write
 * races concurrent writers of the same ids). The trigger runs as the caller (RLS applies).
 */
export class QuotaEnforcement1795782323849 implements MigrationInterface {
  name = 'QuotaEnforcement1795782323849';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE quota_usage ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE quota_usage FORCE ROW LEVEL SECURITY`);
    await q.query(
      `CREATE POLICY tenant_isolation ON quota_usage USING (${TENANT_PREDICATE}) WITH CHECK (${TENANT_PREDICATE})`,
    );
    // Plans: every transaction may read them (a tenant's writes check its limits), only a platform
    // transaction may change them.
    await q.query(`ALTER TABLE plans ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE plans FORCE ROW LEVEL SECURITY`);
    await q.query(`CREATE POLICY plans_read ON plans FOR SELECT USING (true)`);
    await q.query(`CREATE POLICY plans_insert ON plans FOR INSERT WITH CHECK (${PLATFORM})`);
    await q.query(
      `CREATE POLICY plans_update ON plans FOR UPDATE USING (${PLATFORM}) WITH CHECK (${PLATFORM})`,
    );
    await q.query(`CREATE POLICY plans_delete ON plans FOR DELETE USING (${PLATFORM})`);

    // The bytes a vector is charged for: 4 per dimension (float4) plus its metadata as JSON text.
    // Deterministic, so the reconciliation job recomputes exactly what the triggers added.
    await q.query(`
      CREATE FUNCTION quiver_vector_bytes(embedding vector, metadata jsonb) RETURNS bigint
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
        SELECT 4 * vector_dims(embedding)::bigint + octet_length(metadata::text)
      $fn$`);

    // Moves one counter and remembers, transaction-locally, how far this transaction moved it
    // (quiver.usage_delta_<resource>), so the app can tell what its own write added once the
    // counter row is locked: usage before = used - delta.
    await q.query(`
      CREATE FUNCTION quiver_usage_add(p_tenant uuid, p_resource text, p_delta bigint)
      RETURNS bigint LANGUAGE plpgsql AS $fn$
      DECLARE
        v_used bigint;
        v_name constant text := 'quiver.usage_delta_' || p_resource;
      BEGIN
        IF p_delta = 0 THEN
          RETURN NULL;
        END IF;
        INSERT INTO quota_usage AS u (tenant_id, resource, used) VALUES (p_tenant, p_resource, p_delta)
          ON CONFLICT (tenant_id, resource) DO UPDATE SET used = u.used + EXCLUDED.used, updated_at = now()
          RETURNING used INTO v_used;
        PERFORM set_config(v_name,
          (COALESCE(NULLIF(current_setting(v_name, true), ''), '0')::bigint + p_delta)::text, true);
        RETURN v_used;
      END $fn$`);

    // storedBytes before vectors: the lock order of limits.ts (COUNTED_RESOURCES).
    await q.query(`
      CREATE FUNCTION quiver_vectors_counted() RETURNS trigger LANGUAGE plpgsql AS $fn$
      DECLARE
        r record;
      BEGIN
        IF TG_OP = 'INSERT' THEN
          FOR r IN SELECT tenant_id, count(*) AS n, sum(quiver_vector_bytes(embedding, metadata))::bigint AS b
                     FROM new_rows GROUP BY tenant_id ORDER BY tenant_id LOOP
            PERFORM quiver_usage_add(r.tenant_id, 'storedBytes', r.b);
            PERFORM quiver_usage_add(r.tenant_id, 'vectors', r.n);
          END LOOP;
        ELSIF TG_OP = 'DELETE' THEN
          FOR r IN SELECT tenant_id, count(*) AS n, sum(quiver_vector_bytes(embedding, metadata))::bigint AS b
                     FROM old_rows GROUP BY tenant_id ORDER BY tenant_id LOOP
            PERFORM quiver_usage_add(r.tenant_id, 'storedBytes', -r.b);
            PERFORM quiver_usage_add(r.tenant_id, 'vectors', -r.n);
          END LOOP;
        ELSE
          FOR r IN SELECT tenant_id, sum(b)::bigint AS b FROM (
                     SELECT tenant_id, quiver_vector_bytes(embedding, metadata) AS b FROM new_rows
                     UNION ALL
                     SELECT tenant_id, -quiver_vector_bytes(embedding, metadata) FROM old_rows) d
                   GROUP BY tenant_id ORDER BY tenant_id LOOP
            PERFORM quiver_usage_add(r.tenant_id, 'storedBytes', r.b);
          END LOOP;
        END IF;
        RETURN NULL;
      END $fn$`);
    await q.query(`
      CREATE TRIGGER vectors_counted_insert AFTER INSERT ON vectors
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION quiver_vectors_counted()`);
    await q.query(`
      CREATE TRIGGER vectors_counted_update AFTER UPDATE ON vectors
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION quiver_vectors_counted()`);
    await q.query(`
      CREATE TRIGGER vectors_counted_delete AFTER DELETE ON vectors
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION quiver_vectors_counted()`);

    await q.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON plans, quota_usage TO quiver_app`);
    await q.query(`GRANT EXECUTE ON FUNCTION quiver_vector_bytes(vector, jsonb) TO quiver_app`);
    await q.query(`GRANT EXECUTE ON FUNCTION quiver_usage_add(uuid, text, bigint) TO quiver_app`);

    // Counters of the tenants that exist now, each computed inside that tenant (forced RLS binds
    // the owner too).
    await q.query(`
      DO $$
      DECLARE
        t record;
      BEGIN
        PERFORM set_config('app.platform', 'on', true);
        FOR t IN SELECT id FROM tenants LOOP
          PERFORM set_config('app.tenant_id', t.id::text, true);
          INSERT INTO quota_usage (tenant_id, resource, used)
          SELECT t.id, 'apiKeys', count(*) FROM api_keys WHERE revoked_at IS NULL
          UNION ALL SELECT t.id, 'collections', count(*) FROM collections
          UNION ALL SELECT t.id, 'storedBytes', COALESCE(sum(quiver_vector_bytes(embedding, metadata)), 0) FROM vectors
          UNION ALL SELECT t.id, 'vectors', count(*) FROM vectors;
        END LOOP;
        PERFORM set_config('app.tenant_id', '', true);
        PERFORM set_config('app.platform', '', true);
      END $$`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`REVOKE ALL ON plans, quota_usage FROM quiver_app`);
    await q.query(`DROP TRIGGER vectors_counted_delete ON vectors`);
    await q.query(`DROP TRIGGER vectors_counted_update ON vectors`);
    await q.query(`DROP TRIGGER vectors_counted_insert ON vectors`);
    await q.query(`DROP FUNCTION quiver_vectors_counted()`);
    await q.query(`DROP FUNCTION quiver_usage_add(uuid, text, bigint)`);
    await q.query(`DROP FUNCTION quiver_vector_bytes(vector, jsonb)`);
    for (const policy of ['plans_read', 'plans_insert', 'plans_update', 'plans_delete'])
      await q.query(`DROP POLICY ${policy} ON plans`);
    await q.query(`ALTER TABLE plans NO FORCE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE plans DISABLE ROW LEVEL SECURITY`);
    await q.query(`DROP POLICY tenant_isolation ON quota_usage`);
    await q.query(`ALTER TABLE quota_usage NO FORCE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE quota_usage DISABLE ROW LEVEL SECURITY`);
  }
}
