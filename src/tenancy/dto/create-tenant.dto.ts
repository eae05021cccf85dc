import { IsIn, IsObject, IsOptional, IsString, Length, Matches } from 'class-validator';

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

  /** @example "pro" */
  @IsOptional()
  @IsIn(PLANS)
  plan?: Plan;

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

  /** @example "enterprise" */
  @IsOptional()
  @IsIn(PLANS)
  plan?: Plan;
}

export class PutSettingsDto {
  /** The whole settings document; it replaces the stored one. @example {"search":{"efSearch":200}} */
  @IsObject()
  settings!: Record<string, unknown>;
}
