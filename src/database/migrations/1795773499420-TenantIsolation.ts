import { MigrationInterface, QueryRunner } from 'typeorm';

/** The policy every tenant-owned table carries: no tenant set means no rows, never an error. */
const TENANT_PREDICATE = `tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid`;
const TENANT_TABLES = ['api_keys', 'collections', 'outbox', 'vectors'];

/**
 * Hand-written: what TypeORM cannot generate. The app role, row-level security, the partitioned
 * vectors table, and the SECURITY DEFINER functions through which the (non-owner) app role creates
 * and drops a collection's partition and HNSW index.
 */
export class TenantIsolation1795773499420 implements MigrationInterface {
  name = 'TenantIsolation1795773499420';

  public async up(q: QueryRunner): Promise<void> {
    // pgvector is not a trusted extension: if the owner is not a superuser, an administrator must
    // run CREATE EXTENSION vector in this database first (the test setup and docker image do).
    await q.query(`
      DO $$
      BEGIN
        IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'vector') THEN
          BEGIN
            CREATE EXTENSION vector;
          EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'extension vector is missing and the migration user cannot create it: %',
              'run CREATE EXTENSION vector; in this database as a superuser';
          END;
        END IF;
      END $$`);
    await q.query(`
      DO $$
      BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'quiver_app') THEN
          BEGIN
            CREATE ROLE quiver_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
          EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'role quiver_app does not exist and the migration user cannot create it: %',
              'run CREATE ROLE quiver_app LOGIN PASSWORD ''...'' NOSUPERUSER NOBYPASSRLS; as an administrator';
          END;
        END IF;
      END $$`);

    await q.query(`
      CREATE TABLE vectors (
        tenant_id uuid NOT NULL,
        collection_id uuid NOT NULL,
        id text NOT NULL,
        embedding vector NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT vectors_pkey PRIMARY KEY (tenant_id, collection_id, id),
        CONSTRAINT vectors_collection_fk FOREIGN KEY (tenant_id, collection_id)
          REFERENCES collections (tenant_id, id) ON DELETE CASCADE
      ) PARTITION BY LIST (collection_id)`);

    for (const table of TENANT_TABLES) {
      await q.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      await q.query(`ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`);
      await q.query(
        `CREATE POLICY tenant_isolation ON ${table} USING (${TENANT_PREDICATE}) WITH CHECK (${TENANT_PREDICATE})`,
      );
    }
    // Resolving an API key happens before the tenant is known: a transaction may read the one key
    // whose SHA-256 it already holds (app.key_hash), nothing else. Read-only.
    await q.query(`
      CREATE POLICY key_lookup ON api_keys FOR SELECT USING (
        secret_hash = decode(NULLIF(current_setting('app.key_hash', true), ''), 'hex')
        OR previous_secret_hash = decode(NULLIF(current_setting('app.key_hash', true), ''), 'hex'))`);

    // The tenants table is a platform table, but tenant settings (later: SSO, IP allowlists) are
    // nobody else's business: a tenant transaction sees its own row, a key lookup the row of the key
    // it resolved, and only a platform transaction (app.platform = 'on', set by Db.platform) all.
    await q.query(`ALTER TABLE tenants ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE tenants FORCE ROW LEVEL SECURITY`);
    await q.query(
      `CREATE POLICY tenant_self ON tenants USING (id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
         WITH CHECK (id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)`,
    );
    await q.query(
      `CREATE POLICY platform_all ON tenants USING (current_setting('app.platform', true) = 'on')
         WITH CHECK (current_setting('app.platform', true) = 'on')`,
    );
    await q.query(
      `CREATE POLICY key_lookup ON tenants FOR SELECT USING (id IN (SELECT tenant_id FROM api_keys))`,
    );

    // Date comparison in metadata filters: strict ISO 8601 only, NULL for anything else, and no
    // exception handler (which would cost a subtransaction per row). Nested CASEs fix the order in
    // which the parts are checked, so make_date never sees an impossible month.
    await q.query(`
      CREATE FUNCTION quiver_try_timestamptz(v jsonb) RETURNS timestamptz
      LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
        SELECT CASE WHEN m IS NULL THEN NULL
          WHEN m[1]::int < 1 OR m[2]::int NOT BETWEEN 1 AND 12 THEN NULL
          ELSE CASE
            WHEN m[3]::int NOT BETWEEN 1 AND extract(day FROM make_date(m[1]::int, m[2]::int, 1) + interval '1 month' - interval '1 day')::int
              OR coalesce(m[4]::int, 0) > 23 OR coalesce(m[5]::int, 0) > 59 OR coalesce(m[6]::numeric, 0) >= 60
              OR coalesce(abs(m[8]::int), 0) > 15 OR coalesce(m[9]::int, 0) > 59 THEN NULL
            WHEN m[4] IS NULL THEN (m[1] || '-' || m[2] || '-' || m[3] || 'T00:00:00Z')::timestamptz
            ELSE (v #>> '{}')::timestamptz
          END
        END
        FROM (SELECT CASE WHEN jsonb_typeof(v) = 'string' THEN regexp_match(v #>> '{}',
          '^(\\d{4})-(\\d{2})-(\\d{2})(?:T(\\d{2}):(\\d{2})(?::(\\d{2}(?:\\.\\d{1,6})?))?(Z|([+-]\\d{2}):(\\d{2})))?$') END AS m) s
      $fn$`);

    await q.query(`
      CREATE FUNCTION quiver_provision_collection(p_collection_id uuid, p_m int, p_ef_construction int)
      RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
      DECLARE
        c record;
        part text;
        typ text;
        ops text;
        pred constant text := $p$${TENANT_PREDICATE}$p$;
      BEGIN
        -- The explicit tenant filter matters where the owner is a superuser (embedded mode) and RLS
        -- would not apply inside this function.
        SELECT tenant_id, id, dimension, metric, index_kind INTO c FROM collections
          WHERE id = p_collection_id AND tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid;
        IF NOT FOUND THEN
          RAISE EXCEPTION 'collection % is not visible to the current tenant', p_collection_id USING ERRCODE = 'P0002';
        END IF;
        PERFORM set_config('lock_timeout', '5s', true);
        part := 'vectors_c_' || replace(c.id::text, '-', '');
        -- Built as a plain table, then attached: CREATE TABLE ... PARTITION OF would take an ACCESS
        -- EXCLUSIVE lock on vectors and stall every tenant's searches, ATTACH PARTITION takes only
        -- SHARE UPDATE EXCLUSIVE. The CHECK on collection_id lets the attach skip its scan.
        EXECUTE format('CREATE TABLE %I (LIKE vectors INCLUDING DEFAULTS)', part);
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (collection_id = %L AND tenant_id = %L AND vector_dims(embedding) = %s)',
          part, part || '_check', c.id, c.tenant_id, c.dimension);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', part);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', part);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (%s) WITH CHECK (%s)', part, pred, pred);
        IF c.index_kind <> 'none' THEN
          typ := CASE c.index_kind WHEN 'hnsw' THEN 'vector' ELSE 'halfvec' END;
          ops := CASE c.metric WHEN 'cosine' THEN 'cosine' WHEN 'l2' THEN 'l2' ELSE 'ip' END;
          EXECUTE format('CREATE INDEX %I ON %I USING hnsw ((embedding::%s(%s)) %s_%s_ops) WITH (m = %s, ef_construction = %s)',
            part || '_hnsw', part, typ, c.dimension, typ, ops, p_m, p_ef_construction);
        END IF;
        EXECUTE format('ALTER TABLE vectors ATTACH PARTITION %I FOR VALUES IN (%L)', part, c.id);
      END $fn$`);

    await q.query(`
      CREATE FUNCTION quiver_drop_collection_partition(p_collection_id uuid)
      RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
      BEGIN
        PERFORM 1 FROM collections
          WHERE id = p_collection_id AND tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid;
        IF NOT FOUND THEN
          RAISE EXCEPTION 'collection % is not visible to the current tenant', p_collection_id USING ERRCODE = 'P0002';
        END IF;
        PERFORM set_config('lock_timeout', '5s', true);
        EXECUTE format('DROP TABLE IF EXISTS %I', 'vectors_c_' || replace(p_collection_id::text, '-', ''));
      END $fn$`);

    await q.query(`REVOKE ALL ON FUNCTION quiver_provision_collection(uuid, int, int) FROM PUBLIC`);
    await q.query(`REVOKE ALL ON FUNCTION quiver_drop_collection_partition(uuid) FROM PUBLIC`);
    await q.query(
      `GRANT EXECUTE ON FUNCTION quiver_provision_collection(uuid, int, int) TO quiver_app`,
    );
    await q.query(`GRANT EXECUTE ON FUNCTION quiver_drop_collection_partition(uuid) TO quiver_app`);
    await q.query(`GRANT EXECUTE ON FUNCTION quiver_try_timestamptz(jsonb) TO quiver_app`);

    await q.query(`GRANT USAGE ON SCHEMA public TO quiver_app`);
    await q.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON tenants, platform_tokens TO quiver_app`);
    await q.query(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ${TENANT_TABLES.join(', ')} TO quiver_app`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(
      `REVOKE ALL ON tenants, platform_tokens, ${TENANT_TABLES.join(', ')} FROM quiver_app`,
    );
    await q.query(`DROP FUNCTION quiver_drop_collection_partition(uuid)`);
    await q.query(`DROP FUNCTION quiver_provision_collection(uuid, int, int)`);
    await q.query(`DROP FUNCTION quiver_try_timestamptz(jsonb)`);
    await q.query(`DROP POLICY key_lookup ON api_keys`);
    for (const policy of ['tenant_self', 'platform_all', 'key_lookup'])
      await q.query(`DROP POLICY ${policy} ON tenants`);
    await q.query(`ALTER TABLE tenants NO FORCE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE tenants DISABLE ROW LEVEL SECURITY`);
    for (const table of TENANT_TABLES.filter((t) => t !== 'vectors')) {
      await q.query(`DROP POLICY tenant_isolation ON ${table}`);
      await q.query(`ALTER TABLE ${table} NO FORCE ROW LEVEL SECURITY`);
      await q.query(`ALTER TABLE ${table} DISABLE ROW LEVEL SECURITY`);
    }
    await q.query(`DROP TABLE vectors`);
    await q.query(`REVOKE USAGE ON SCHEMA public FROM quiver_app`);
  }
}
