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

/** A person in a tenant: signs in locally (break-glass) or through SSO. RLS forced. */
@Entity({ name: 'users' })
@Index('users_email_key', ['tenantId', 'emailLower'], { unique: true })
export class UserEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'users_tenant_fk' })
  tenant?: TenantEntity;

  @Column({ type: 'text' })
  email!: string;

  @Column({ name: 'email_lower', type: 'text' })
  emailLower!: string;

  @Column({ name: 'display_name', type: 'text', nullable: true })
  displayName!: string | null;

  @Column({ type: 'text' })
  role!: string;

  /** active | disabled */
  @Column({ type: 'text', default: 'active' })
  status!: string;

  /** scrypt hash for the break-glass local login; null: no local password. */
  @Column({ name: 'password_hash', type: 'text', nullable: true })
  passwordHash!: string | null;

  /** Bumped when the user's sessions must end (role taken away, disabled, removed). */
  @Column({ name: 'session_version', type: 'integer', default: 1 })
  sessionVersion!: number;

  @Column({ name: 'last_login_at', type: 'timestamptz', nullable: true })
  lastLoginAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
