import { IsObject, IsOptional, IsString, Length, Matches } from 'class-validator';
import { PLAN_NAME_RE } from '@app/quotas/limits';

/** The plans every deployment starts with (seeded by the Quotas migration); more via /v1/admin/plans. */
export const PLANS = ['free', 'pro', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];

export class CreateTenantDto {
  /**
   * URL-safe, unique, immutable identifier: lowercase letters, digits and hyphens.
   * @example "acme-corp"
   */
  @IsString()
  @Matches(/^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$/, {
    message:
      'slug must be 3-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit',
  })
  slug!: string;

  /** @example "Acme Corporation" */
  @IsString()
  @Length(1, 200)
  name!: string;

  /** The name of an existing plan (GET /v1/admin/plans). Default: free. @example "pro" */
  @IsOptional()
  @IsString()
  @Matches(PLAN_NAME_RE, { message: 'plan must be the name of a plan' })
  plan?: string;

  /** Initial settings document (see PUT /v1/admin/tenants/{id}/settings). */
  @IsOptional()
  @IsObject()
  settings?: Record<string, unknown>;
}

export class UpdateTenantDto {
  /** @example "Acme Corporation (EMEA)" */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  name?: string;

  /** The name of an existing plan. @example "enterprise" */
  @IsOptional()
  @IsString()
  @Matches(PLAN_NAME_RE, { message: 'plan must be the name of a plan' })
  plan?: string;
}

export class PutSettingsDto {
  /** The whole settings document; it replaces the stored one. @example {"search":{"efSearch":200}} */
  @IsObject()
  settings!: Record<string, unknown>;
}
