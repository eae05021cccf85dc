import { MigrationInterface, QueryRunner } from 'typeorm';

export class UsageRollups1795783793105 implements MigrationInterface {
  name = 'UsageRollups1795783793105';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "usage_rollups" ("tenant_id" uuid NOT NULL, "granularity" text NOT NULL, "bucket_start" TIMESTAMP WITH TIME ZONE NOT NULL, "endpoint_class" text NOT NULL, "status_class" text NOT NULL, "requests" bigint NOT NULL DEFAULT '0', "searches" bigint NOT NULL DEFAULT '0', "vectors_written" bigint NOT NULL DEFAULT '0', "vectors_deleted" bigint NOT NULL DEFAULT '0', "latency_ms_sum" double precision NOT NULL DEFAULT '0', "latency_histogram" bigint array NOT NULL, CONSTRAINT "PK_64bdff1911a5ef185a312ef269b" PRIMARY KEY ("tenant_id", "granularity", "bucket_start", "endpoint_class", "status_class"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "usage_rollups_bucket_idx" ON "usage_rollups" ("granularity", "bucket_start") `,
    );
    await queryRunner.query(
      `CREATE TABLE "usage_storage" ("tenant_id" uuid NOT NULL, "granularity" text NOT NULL, "bucket_start" TIMESTAMP WITH TIME ZONE NOT NULL, "stored_bytes" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_9bea18f83fd7e485f9657df2448" PRIMARY KEY ("tenant_id", "granularity", "bucket_start"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "usage_rollups" ADD CONSTRAINT "usage_rollups_tenant_fk" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "usage_storage" ADD CONSTRAINT "usage_storage_tenant_fk" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "usage_storage" DROP CONSTRAINT "usage_storage_tenant_fk"`,
    );
    await queryRunner.query(
      `ALTER TABLE "usage_rollups" DROP CONSTRAINT "usage_rollups_tenant_fk"`,
    );
    await queryRunner.query(`DROP TABLE "usage_storage"`);
    await queryRunner.query(`DROP INDEX "public"."usage_rollups_bucket_idx"`);
    await queryRunner.query(`DROP TABLE "usage_rollups"`);
  }
}
