import { MigrationInterface, QueryRunner } from 'typeorm';

export class Foundation1795773499419 implements MigrationInterface {
  name = 'Foundation1795773499419';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "tenants" ("id" uuid NOT NULL, "slug" text NOT NULL, "name" text NOT NULL, "plan" text NOT NULL DEFAULT 'free', "status" text NOT NULL DEFAULT 'active', "settings" jsonb NOT NULL DEFAULT '{}'::jsonb, "settings_version" integer NOT NULL DEFAULT '1', "settings_updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "suspended_at" TIMESTAMP WITH TIME ZONE, "deletion_requested_at" TIMESTAMP WITH TIME ZONE, "purge_after" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_53be67a04681c66b87ee27c9321" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "tenants_slug_key" ON "tenants" ("slug") `);
    await queryRunner.query(`CREATE INDEX "tenants_purge_after_idx" ON "tenants" ("purge_after") `);
    await queryRunner.query(
      `CREATE TABLE "api_keys" ("tenant_id" uuid NOT NULL, "id" uuid NOT NULL, "name" text NOT NULL, "scopes" text array NOT NULL, "secret_hash" bytea NOT NULL, "secret_last4" text NOT NULL, "previous_secret_hash" bytea, "previous_secret_expires_at" TIMESTAMP WITH TIME ZONE, "expires_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, "last_used_at" TIMESTAMP WITH TIME ZONE, "rotated_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_63391bb25a8c6e1c50de701375f" PRIMARY KEY ("tenant_id", "id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "api_keys_secret_hash_key" ON "api_keys" ("secret_hash") `,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "api_keys_previous_secret_hash_key" ON "api_keys" ("previous_secret_hash") `,
    );
    await queryRunner.query(
      `CREATE TABLE "outbox" ("tenant_id" uuid NOT NULL, "id" uuid NOT NULL, "type" text NOT NULL, "data" jsonb NOT NULL, "request_id" text, "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "dispatched_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_e73f4dc2914267eb47f48ea28aa" PRIMARY KEY ("tenant_id", "id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "outbox_undispatched_idx" ON "outbox" ("occurred_at") WHERE dispatched_at IS NULL`,
    );
    await queryRunner.query(
      `CREATE TABLE "platform_tokens" ("id" uuid NOT NULL, "name" text NOT NULL, "token_hash" bytea NOT NULL, "revoked_at" TIMESTAMP WITH TIME ZONE, "last_used_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_d21a266478d79e04714698a2398" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "platform_tokens_hash_key" ON "platform_tokens" ("token_hash") `,
    );
    await queryRunner.query(
      `CREATE TABLE "collections" ("tenant_id" uuid NOT NULL, "id" uuid NOT NULL, "name" text NOT NULL, "dimension" integer NOT NULL, "metric" text NOT NULL, "index_kind" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_b59c13b0e5dc50ca3bfb5a2dc4f" PRIMARY KEY ("tenant_id", "id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "collections_tenant_name_key" ON "collections" ("tenant_id", "name") `,
    );
    await queryRunner.query(
      `ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_tenant_fk" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "outbox" ADD CONSTRAINT "outbox_tenant_fk" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "collections" ADD CONSTRAINT "collections_tenant_fk" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "collections" DROP CONSTRAINT "collections_tenant_fk"`);
    await queryRunner.query(`ALTER TABLE "outbox" DROP CONSTRAINT "outbox_tenant_fk"`);
    await queryRunner.query(`ALTER TABLE "api_keys" DROP CONSTRAINT "api_keys_tenant_fk"`);
    await queryRunner.query(`DROP INDEX "public"."collections_tenant_name_key"`);
    await queryRunner.query(`DROP TABLE "collections"`);
    await queryRunner.query(`DROP INDEX "public"."platform_tokens_hash_key"`);
    await queryRunner.query(`DROP TABLE "platform_tokens"`);
    await queryRunner.query(`DROP INDEX "public"."outbox_undispatched_idx"`);
    await queryRunner.query(`DROP TABLE "outbox"`);
    await queryRunner.query(`DROP INDEX "public"."api_keys_previous_secret_hash_key"`);
    await queryRunner.query(`DROP INDEX "public"."api_keys_secret_hash_key"`);
    await queryRunner.query(`DROP TABLE "api_keys"`);
    await queryRunner.query(`DROP INDEX "public"."tenants_purge_after_idx"`);
    await queryRunner.query(`DROP INDEX "public"."tenants_slug_key"`);
    await queryRunner.query(`DROP TABLE "tenants"`);
  }
}
