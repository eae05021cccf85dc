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

export const METRIC_VALUES = ['cosine', 'l2', 'dot'] as const;
export type Metric = (typeof METRIC_VALUES)[number];
/** hnsw: vector(d) index; hnsw_halfvec: halfvec(d) index (2,001..4,000 dims); none: exact search only. */
export const INDEX_KINDS = ['hnsw', 'hnsw_halfvec', 'none'] as const;
export type IndexKind = (typeof INDEX_KINDS)[number];

/**
 * A collection's vectors live in their own partition of the `vectors` table (created by
 * quiver_provision_collection), which the migrations manage by hand: TypeORM has no entity for it.
 */
@Entity({ name: 'collections' })
@Index('collections_tenant_name_key', ['tenantId', 'name'], { unique: true })
export class CollectionEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'collections_tenant_fk' })
  tenant?: TenantEntity;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'integer' })
  dimension!: number;

  @Column({ type: 'text' })
  metric!: Metric;

  @Column({ name: 'index_kind', type: 'text' })
  indexKind!: IndexKind;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
