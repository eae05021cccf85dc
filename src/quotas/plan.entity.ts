import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { PlanLimits } from './limits';

/**
 * A platform table: named sets of limits. Every tenant references one (tenants.plan); its own
 * overrides live in its settings document. Readable in any transaction (limits are no secret),
 * writable only in a platform transaction (see the QuotaEnforcement migration).
 */
@Entity({ name: 'plans' })
export class PlanEntity {
  @PrimaryColumn({ type: 'text' })
  name!: string;

  @Column({ type: 'text', default: '' })
  description!: string;

  /** Every limit name, each a non-negative integer or null (unlimited). */
  @Column({ type: 'jsonb' })
  limits!: PlanLimits;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
