import { MigrationInterface, QueryRunner } from 'typeorm';

export class SigningSecrets1795776635268 implements MigrationInterface {
  name = 'SigningSecrets1795776635268';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "api_keys" ADD "signing_secret_enc" bytea`);
    await queryRunner.query(`ALTER TABLE "api_keys" ADD "previous_signing_secret_enc" bytea`);
    await queryRunner.query(
      `ALTER TABLE "api_keys" ADD "previous_signing_secret_expires_at" TIMESTAMP WITH TIME ZONE`,
    );
    await queryRunner.query(
      `ALTER TABLE "api_keys" ADD "require_signature" boolean NOT NULL DEFAULT false`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "api_keys" DROP COLUMN "require_signature"`);
    await queryRunner.query(
      `ALTER TABLE "api_keys" DROP COLUMN "previous_signing_secret_expires_at"`,
    );
    await queryRunner.query(`ALTER TABLE "api_keys" DROP COLUMN "previous_signing_secret_enc"`);
    await queryRunner.query(`ALTER TABLE "api_keys" DROP COLUMN "signing_secret_enc"`);
  }
}
