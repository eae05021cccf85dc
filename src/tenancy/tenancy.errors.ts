import { defineErrors } from '@app/common/errors/app-exception';

export enum TenancyErrorCode {
  TenantNotFound = 'tenant_not_found',
  TenantSuspended = 'tenant_suspended',
  TenantSlugTaken = 'tenant_slug_taken',
  InvalidTenantState = 'invalid_tenant_state',
  InvalidSettings = 'invalid_settings',
  SettingsVersionMismatch = 'settings_version_mismatch',
  IfMatchRequired = 'if_match_required',
}

export const tenancyError = defineErrors<TenancyErrorCode>({
  [TenancyErrorCode.TenantNotFound]: { status: 404, title: 'Tenant not found' },
  [TenancyErrorCode.TenantSuspended]: { status: 403, title: 'Tenant suspended' },
  [TenancyErrorCode.TenantSlugTaken]: { status: 409, title: 'Tenant slug already in use' },
  [TenancyErrorCode.InvalidTenantState]: {
    status: 409,
    title: 'Operation not allowed in the tenant state',
  },
  [TenancyErrorCode.InvalidSettings]: { status: 400, title: 'Invalid tenant settings' },
  [TenancyErrorCode.SettingsVersionMismatch]: {
    status: 412,
    title: 'Settings changed since you read them',
  },
  [TenancyErrorCode.IfMatchRequired]: { status: 428, title: 'If-Match header required' },
});
