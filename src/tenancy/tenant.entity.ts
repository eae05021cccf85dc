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
import { PlanEntity } from '@app/quotas/plan.entity';

export const TENANT_STATUSES = ['active', 'suspended', 'pending_deletion'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

/** A platform table: no tenant_id and no row-level security; only platform endpoints reach it. */
@Entity({ name: 'tenants' })
export class TenantEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Index('tenants_slug_key', { unique: true })
  @Column({ type: 'text' })
  slug!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text', default: 'free' })
  plan!: string;

  /** The plan must exist; a plan that tenants use cannot be deleted. */
  @ManyToOne(() => PlanEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({
    name: 'plan',
    referencedColumnName: 'name',
    foreignKeyConstraintName: 'tenants_plan_fk',
  })
  planRef?: PlanEntity;

  @Column({ type: 'text', default: 'active' })
  status!: TenantStatus;

  @Column({ type: 'jsonb', default: () => `'{}'` })
  settings!: Record<string, unknown>;

  @Column({ name: 'settings_version', type: 'integer', default: 1 })
  settingsVersion!: number;

  @Column({ name: 'settings_updated_at', type: 'timestamptz', default: () => 'now()' })
  settingsUpdatedAt!: Date;

  @Column({ name: 'suspended_at', type: 'timestamptz', nullable: true })
  suspendedAt!: Date | null;

  @Column({ name: 'deletion_requested_at', type: 'timestamptz', nullable: true })
  deletionRequestedAt!: Date | null;

  @Index('tenants_purge_after_idx')
  @Column({ name: 'purge_after', type: 'timestamptz', nullable: true })
  purgeAfter!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
