import { defineErrors } from '@app/common/errors/app-exception';

export enum AuthErrorCode {
  InvalidCredentials = 'invalid_credentials',
  LocalLoginDisabled = 'local_login_disabled',
  InvalidRefreshToken = 'invalid_refresh_token',
  RefreshTokenReused = 'refresh_token_reused',
  InvalidAccessToken = 'invalid_access_token',
  SessionEnded = 'session_ended',
  UserNotFound = 'user_not_found',
  UserExists = 'user_exists',
  RoleNotAssignable = 'role_not_assignable',
  LastOwner = 'last_owner',
  WeakPassword = 'weak_password',
  SessionsUnavailable = 'sessions_unavailable',
}

export const authError = defineErrors<AuthErrorCode>({
  [AuthErrorCode.InvalidCredentials]: { status: 401, title: 'Invalid email or password' },
  [AuthErrorCode.LocalLoginDisabled]: {
    status: 403,
    title: 'Local login is turned off for this tenant',
  },
  [AuthErrorCode.InvalidRefreshToken]: { status: 401, title: 'Invalid refresh token' },
  [AuthErrorCode.RefreshTokenReused]: {
    status: 401,
    title: 'Refresh token reused: the session is revoked',
  },
  [AuthErrorCode.InvalidAccessToken]: { status: 401, title: 'Invalid access token' },
  [AuthErrorCode.SessionEnded]: { status: 401, title: 'The session has ended' },
  [AuthErrorCode.UserNotFound]: { status: 404, title: 'User not found' },
  [AuthErrorCode.UserExists]: { status: 409, title: 'A user with this email exists' },
  [AuthErrorCode.RoleNotAssignable]: { status: 403, title: 'Role not assignable by this caller' },
  [AuthErrorCode.LastOwner]: { status: 409, title: 'A tenant keeps at least one owner' },
  [AuthErrorCode.WeakPassword]: { status: 400, title: 'Password too short or too long' },
  [AuthErrorCode.SessionsUnavailable]: {
    status: 503,
    title: 'Sessions need QUIVER_ENCRYPTION_KEY to sign tokens',
  },
});
