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
  ConnectionNotFound = 'sso_connection_not_found',
  ConnectionDisabled = 'sso_connection_disabled',
  RedirectNotAllowed = 'redirect_not_allowed',
  LoginSessionInvalid = 'login_session_invalid',
  SsoFailed = 'sso_failed',
  NoRoleForUser = 'sso_no_role',
  LoginCodeInvalid = 'login_code_invalid',
  ProviderUnavailable = 'sso_provider_unavailable',
  AddressNotAllowed = 'sso_address_not_allowed',
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
  [AuthErrorCode.ConnectionNotFound]: { status: 404, title: 'SSO connection not found' },
  [AuthErrorCode.ConnectionDisabled]: { status: 403, title: 'SSO connection disabled' },
  [AuthErrorCode.RedirectNotAllowed]: {
    status: 400,
    title: "Redirect is not one of the connection's redirect URIs",
  },
  [AuthErrorCode.LoginSessionInvalid]: {
    status: 401,
    title: 'No matching login in progress (state, cookie or expiry)',
  },
  [AuthErrorCode.SsoFailed]: { status: 401, title: 'The identity provider response was refused' },
  [AuthErrorCode.NoRoleForUser]: { status: 403, title: 'No role maps to this user' },
  [AuthErrorCode.LoginCodeInvalid]: { status: 401, title: 'Invalid or used login code' },
  [AuthErrorCode.ProviderUnavailable]: {
    status: 503,
    title: 'The identity provider cannot be reached',
  },
  [AuthErrorCode.AddressNotAllowed]: {
    status: 400,
    title: 'SSO connections may not reach this address',
  },
});
