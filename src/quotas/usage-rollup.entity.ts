import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { TenantEntity } from '@app/tenancy/tenant.entity';

/**
 * A tenant-owned table: request usage rolled up per hour and per day, by endpoint class and status
 * class. Written by UsageRecorder's periodic flush (additive upserts, so any number of processes
 * can flush into the same row). Row-level security forced; platform transactions may read all rows
 * (leaderboard, billing export).
 */
@Entity({ name: 'usage_rollups' })
@Index('usage_rollups_bucket_idx', ['granularity', 'bucketStart'])
export class UsageRollupEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  /** 'hour' or 'day'. */
  @PrimaryColumn({ type: 'text' })
  granularity!: string;

  @PrimaryColumn({ name: 'bucket_start', type: 'timestamptz' })
  bucketStart!: Date;

  /** search, upsert, fetch, delete, count, collections, keys, admin. */
  @PrimaryColumn({ name: 'endpoint_class', type: 'text' })
  endpointClass!: string;

  /** 2xx, 4xx, 5xx. */
  @PrimaryColumn({ name: 'status_class', type: 'text' })
  statusClass!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'usage_rollups_tenant_fk' })
  tenant?: TenantEntity;

  @Column({ type: 'bigint', default: 0 })
  requests!: string;

  @Column({ type: 'bigint', default: 0 })
  searches!: string;

  @Column({ name: 'vectors_written', type: 'bigint', default: 0 })
  vectorsWritten!: string;

  @Column({ name: 'vectors_deleted', type: 'bigint', default: 0 })
  vectorsDeleted!: string;

  @Column({ name: 'latency_ms_sum', type: 'double precision', default: 0 })
  latencyMsSum!: number;

  /** Counts per bucket of libs/latency (LATENCY_BOUNDS_MS, then overflow). */
  @Column({ name: 'latency_histogram', type: 'bigint', array: true })
  latencyHistogram!: string[];
}

/** Stored bytes per hour and per day: the peak the flushes observed in that period. */
@Entity({ name: 'usage_storage' })
export class UsageStorageEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @PrimaryColumn({ type: 'text' })
  granularity!: string;

  @PrimaryColumn({ name: 'bucket_start', type: 'timestamptz' })
  bucketStart!: Date;

  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'usage_storage_tenant_fk' })
  tenant?: TenantEntity;

  @Column({ name: 'stored_bytes', type: 'bigint', default: 0 })
  storedBytes!: string;
}
