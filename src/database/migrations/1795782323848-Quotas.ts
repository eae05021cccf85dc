import { MigrationInterface, QueryRunner } from 'typeorm';

/** The plans tenants were created on before plans were a table (PLANS in create-tenant.dto.ts). */
const SEEDED_PLANS = [
  {
    name: 'free',
    description: 'Evaluation and small projects',
    limits: {
      collections: 5,
      vectors: 100000,
      dimensionsPerCollection: 2000,
      storedBytes: 1073741824,
      requestsPerDay: 100000,
      searchesPerSecond: 10,
      apiKeys: 10,
      webhookEndpoints: 2,
    },
  },
  {
    name: 'pro',
    description: 'Production workloads',
    limits: {
      collections: 100,
      vectors: 10000000,
      dimensionsPerCollection: 4000,
      storedBytes: 107374182400,
      requestsPerDay: 10000000,
      searchesPerSecond: 200,
      apiKeys: 100,
      webhookEndpoints: 20,
    },
  },
  {
    name: 'enterprise',
    description: 'No limits unless set per tenant',
    limits: {
      collections: null,
      vectors: null,
      dimensionsPerCollection: null,
      storedBytes: null,
      requestsPerDay: null,
      searchesPerSecond: null,
      apiKeys: null,
      webhookEndpoints: null,
    },
  },
];

export class Quotas1795782323848 implements MigrationInterface {
  name = 'Quotas1795782323848';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "plans" ("name" text NOT NULL, "description" text NOT NULL DEFAULT '', "limits" jsonb NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_253d25dae4c94ee913bc5ec4850" PRIMARY KEY ("name"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "quota_usage" ("tenant_id" uuid NOT NULL, "resource" text NOT NULL, "used" bigint NOT NULL DEFAULT '0', "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_f0c768fab5f6bcb885ad4ee249b" PRIMARY KEY ("tenant_id", "resource"))`,
    );
    // Tenants already name these plans: they must exist before the foreign key does.
    for (const plan of SEEDED_PLANS) {
      await queryRunner.query(
        `INSERT INTO "plans" ("name", "description", "limits") VALUES ($1, $2, $3::jsonb)`,
        [plan.name, plan.description, JSON.stringify(plan.limits)],
      );
    }
    await queryRunner.query(
      `ALTER TABLE "tenants" ADD CONSTRAINT "tenants_plan_fk" FOREIGN KEY ("plan") REFERENCES "plans"("name") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "quota_usage" ADD CONSTRAINT "quota_usage_tenant_fk" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "quota_usage" DROP CONSTRAINT "quota_usage_tenant_fk"`);
    await queryRunner.query(`ALTER TABLE "tenants" DROP CONSTRAINT "tenants_plan_fk"`);
    await queryRunner.query(`DROP TABLE "quota_usage"`);
    await queryRunner.query(`DROP TABLE "plans"`);
  }
}
