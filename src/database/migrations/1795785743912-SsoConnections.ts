import { MigrationInterface, QueryRunner } from 'typeorm';

const TENANT_PREDICATE = `tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid`;
const TENANT_TABLES = ['sso_connections', 'user_identities'];

/** SSO connections and the identities they map to users (generated), with RLS and grants (hand-written). */

export class SsoConnections1795785743912 implements MigrationInterface {
  name = 'SsoConnections1795785743912';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "sso_connections" ("tenant_id" uuid NOT NULL, "id" uuid NOT NULL, "kind" text NOT NULL, "name" text NOT NULL, "enabled" boolean NOT NULL DEFAULT true, "config" jsonb NOT NULL, "secret_enc" bytea, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_fd25817045fef24fc6c960caad3" PRIMARY KEY ("tenant_id", "id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "user_identities" ("tenant_id" uuid NOT NULL, "connection_id" uuid NOT NULL, "subject" text NOT NULL, "user_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_5a558c937a47c7afec27676ec5e" PRIMARY KEY ("tenant_id", "connection_id", "subject"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "sso_connections" ADD CONSTRAINT "sso_connections_tenant_fk" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "user_identities" ADD CONSTRAINT "FK_c199251745f6f554d40c4f2a546" FOREIGN KEY ("tenant_id", "user_id") REFERENCES "users"("tenant_id","id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "user_identities" ADD CONSTRAINT "FK_a1e9f3b01de092a5dd0585f52cb" FOREIGN KEY ("tenant_id", "connection_id") REFERENCES "sso_connections"("tenant_id","id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    for (const table of TENANT_TABLES) {
      await queryRunner.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      await queryRunner.query(`ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`);
      await queryRunner.query(
        `CREATE POLICY tenant_isolation ON ${table} USING (${TENANT_PREDICATE}) WITH CHECK (${TENANT_PREDICATE})`,
      );
    }
    await queryRunner.query(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ${TENANT_TABLES.join(', ')} TO quiver_app`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`REVOKE ALL ON ${TENANT_TABLES.join(', ')} FROM quiver_app`);
    for (const table of TENANT_TABLES)
      await queryRunner.query(`DROP POLICY tenant_isolation ON ${table}`);
    await queryRunner.query(
      `ALTER TABLE "user_identities" DROP CONSTRAINT "FK_a1e9f3b01de092a5dd0585f52cb"`,
    );
    await queryRunner.query(
      `ALTER TABLE "user_identities" DROP CONSTRAINT "FK_c199251745f6f554d40c4f2a546"`,
    );
    await queryRunner.query(
      `ALTER TABLE "sso_connections" DROP CONSTRAINT "sso_connections_tenant_fk"`,
    );
    await queryRunner.query(`DROP TABLE "user_identities"`);
    await queryRunner.query(`DROP TABLE "sso_connections"`);
  }
}
