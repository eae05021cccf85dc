import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  UpdateDateColumn,
} from 'typeorm';
import { TenantEntity } from '@app/tenancy/tenant.entity';

/** A tenant-owned table: tenant_id leads the key, row-level security forced (see the security migration). */
@Entity({ name: 'api_keys' })
export class ApiKeyEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'api_keys_tenant_fk' })
  tenant?: TenantEntity;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text', array: true })
  scopes!: string[];

  @Index('api_keys_secret_hash_key', { unique: true })
  @Column({ name: 'secret_hash', type: 'bytea' })
  secretHash!: Buffer;

  @Column({ name: 'secret_last4', type: 'text' })
  secretLast4!: string;

  @Index('api_keys_previous_secret_hash_key', { unique: true })
  @Column({ name: 'previous_secret_hash', type: 'bytea', nullable: true })
  previousSecretHash!: Buffer | null;

  @Column({ name: 'previous_secret_expires_at', type: 'timestamptz', nullable: true })
  previousSecretExpiresAt!: Date | null;

  /** When set, the key works only from these addresses/CIDRs (in addition to the tenant's list). */
  @Column({ name: 'allowed_ips', type: 'text', array: true, nullable: true })
  allowedIps!: string[] | null;

  /** When set, the key reaches only these collections. */
  @Column({ type: 'text', array: true, nullable: true })
  collections!: string[] | null;

  /** When set, a metadata filter ANDed into every read, delete and write made with the key. */
  @Column({ name: 'enforced_filter', type: 'jsonb', nullable: true })
  enforcedFilter!: Record<string, unknown> | null;

  /** The HMAC secret for signed requests (RFC 9421), encrypted at rest (AES-256-GCM, see SecretBox). */
  @Column({ name: 'signing_secret_enc', type: 'bytea', nullable: true })
  signingSecretEnc!: Buffer | null;

  @Column({ name: 'previous_signing_secret_enc', type: 'bytea', nullable: true })
  previousSigningSecretEnc!: Buffer | null;

  @Column({ name: 'previous_signing_secret_expires_at', type: 'timestamptz', nullable: true })
  previousSigningSecretExpiresAt!: Date | null;

  /** Unsigned requests made with this key are refused. */
  @Column({ name: 'require_signature', type: 'boolean', default: false })
  requireSignature!: boolean;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;

  @Column({ name: 'rotated_at', type: 'timestamptz', nullable: true })
  rotatedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
