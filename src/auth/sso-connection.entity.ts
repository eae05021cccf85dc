import {
  Column,
  CreateDateColumn,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  UpdateDateColumn,
} from 'typeorm';
import { TenantEntity } from '@app/tenancy/tenant.entity';

/** A tenant's identity provider connection (OIDC today). Secrets sealed, never returned. RLS forced. */
@Entity({ name: 'sso_connections' })
export class SsoConnectionEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'sso_connections_tenant_fk' })
  tenant?: TenantEntity;

  /** oidc, saml or ldap (src/auth/sso/sso-kind-registry.ts). */
  @Column({ type: 'text' })
  kind!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  /** Everything but secrets: issuer, client id, redirect URIs, claim names, role mapping. */
  @Column({ type: 'jsonb' })
  config!: Record<string, unknown>;

  /** The client secret (or bind password), sealed with QUIVER_ENCRYPTION_KEY. */
  @Column({ name: 'secret_enc', type: 'bytea', nullable: true })
  secretEnc!: Buffer | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
