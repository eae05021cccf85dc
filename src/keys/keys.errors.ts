import { defineErrors } from '@app/common/errors/app-exception';

export enum KeysErrorCode {
  KeyNotFound = 'api_key_not_found',
  KeyRevoked = 'api_key_revoked',
  KeyExpired = 'api_key_expired',
  KeyAlreadyRevoked = 'api_key_already_revoked',
  InvalidRestriction = 'invalid_key_restriction',
}

export const keysError = defineErrors<KeysErrorCode>({
  [KeysErrorCode.KeyNotFound]: { status: 404, title: 'API key not found' },
  [KeysErrorCode.KeyRevoked]: { status: 401, title: 'API key revoked' },
  [KeysErrorCode.KeyExpired]: { status: 401, title: 'API key expired' },
  [KeysErrorCode.KeyAlreadyRevoked]: { status: 409, title: 'API key already revoked' },
  [KeysErrorCode.InvalidRestriction]: { status: 400, title: 'Invalid key restriction' },
});
