import { ApiProperty } from '@nestjs/swagger';
import { TENANT_STATUSES, TenantStatus } from '../tenant.entity';

export class TenantView {
  /** @example "6a1f4c2e-8f0b-4f7c-a3c4-0e9a8d1b2c3d" */
  id!: string;
  /** @example "acme-corp" */
  slug!: string;
  /** @example "Acme Corporation" */
  name!: string;
  /** @example "pro" */
  plan!: string;
  @ApiProperty({ enum: TENANT_STATUSES })
  status!: TenantStatus;
  settingsVersion!: number;
  suspendedAt!: string | null;
  deletionRequestedAt!: string | null;
  /** When a tenant pending deletion will be purged. */
  purgeAfter!: string | null;
  createdAt!: string;
  updatedAt!: string;
}

export class TenantPage {
  items!: TenantView[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor!: string | null;
}

export class TenantSettingsView {
  settings!: Record<string, unknown>;
  /** Also sent as the ETag header ("<version>"); send it back in If-Match to update. */
  version!: number;
  updatedAt!: string;
}
