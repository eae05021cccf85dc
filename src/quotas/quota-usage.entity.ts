import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { TenantEntity } from '@app/tenancy/tenant.entity';

/**
 * A tenant-owned table: one counter per tenant and counted resource (limits.ts), moved only by the
 * SQL function quiver_usage_add, in the same transaction as the write it counts. Row-level
 * security forced (QuotaEnforcement migration).
 */
@Entity({ name: 'quota_usage' })
export class QuotaUsageEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @PrimaryColumn({ type: 'text' })
  resource!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'quota_usage_tenant_fk' })
  tenant?: TenantEntity;

  @Column({ type: 'bigint', default: 0 })
  used!: string;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
