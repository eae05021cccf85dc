import { MigrationInterface, QueryRunner } from 'typeorm';

export class ScopedKeys1795776148027 implements MigrationInterface {
  name = 'ScopedKeys1795776148027';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "api_keys" ADD "allowed_ips" text array`);
    await queryRunner.query(`ALTER TABLE "api_keys" ADD "collections" text array`);
    await queryRunner.query(`ALTER TABLE "api_keys" ADD "enforced_filter" jsonb`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "api_keys" DROP COLUMN "enforced_filter"`);
    await queryRunner.query(`ALTER TABLE "api_keys" DROP COLUMN "collections"`);
    await queryRunner.query(`ALTER TABLE "api_keys" DROP COLUMN "allowed_ips"`);
  }
}
