import { defineErrors } from '@app/common/errors/app-exception';

export enum QuotasErrorCode {
  QuotaExceeded = 'quota_exceeded',
  PlanNotFound = 'plan_not_found',
  PlanExists = 'plan_exists',
  PlanInUse = 'plan_in_use',
}

/**
 * quota_exceeded is a 403, not a 429: a stored-resource quota does not lift by waiting, so a client
 * that retries 429s with backoff would retry forever (docs/decisions.md). 429 belongs to the rate
 * limiter (requests per day, searches per second).
 */
export const quotasError = defineErrors<QuotasErrorCode>({
  [QuotasErrorCode.QuotaExceeded]: { status: 403, title: 'Quota exceeded' },
  [QuotasErrorCode.PlanNotFound]: { status: 404, title: 'Plan not found' },
  [QuotasErrorCode.PlanExists]: { status: 409, title: 'A plan with this name exists' },
  [QuotasErrorCode.PlanInUse]: { status: 409, title: 'Plan in use' },
});
