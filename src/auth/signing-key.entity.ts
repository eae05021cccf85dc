import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * Keys that sign access tokens (ES256). A platform table: the private key is sealed with the
 * encryption key (QUIVER_ENCRYPTION_KEY); the public key is served in the JWKS until it retires.
 */
@Entity({ name: 'auth_signing_keys' })
export class SigningKeyEntity {
  @PrimaryColumn({ type: 'text' })
  kid!: string;

  @Column({ type: 'text' })
  alg!: string;

  @Column({ name: 'public_jwk', type: 'jsonb' })
  publicJwk!: Record<string, unknown>;

  @Column({ name: 'private_key_enc', type: 'bytea' })
  privateKeyEnc!: Buffer;

  /** The newest active key signs; older ones only verify until retired. */
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'retired_at', type: 'timestamptz', nullable: true })
  retiredAt!: Date | null;
}
