import { defineErrors } from '@app/common/errors/app-exception';

export enum LdapErrorCode {
  /** Every refused username/password pair, whatever the reason (the reason goes to the security event). */
  InvalidCredentials = 'ldap_invalid_credentials',
  /** The directory could not be asked: unreachable, too slow, TLS refused, service account refused. */
  DirectoryUnavailable = 'ldap_directory_unavailable',
}

export const ldapError = defineErrors<LdapErrorCode>({
  [LdapErrorCode.InvalidCredentials]: { status: 401, title: 'Invalid username or password' },
  [LdapErrorCode.DirectoryUnavailable]: {
    status: 503,
    title: 'The directory cannot be reached right now',
  },
});
