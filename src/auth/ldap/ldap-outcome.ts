import { EmptyPasswordBindRefused, type LdapAttempt } from './ldap-client-hook';

/** Why a username/password pair was refused (recorded in the security event, never shown). */
export type LdapRefusal =
  | 'blank_password'
  | 'wrong_password'
  | 'unknown_user'
  | 'ambiguous_user'
  | 'user_disabled'
  | 'account_locked'
  | 'account_expired'
  | 'password_expired'
  | 'password_must_change'
  | 'logon_restricted'
  | 'service_account';

/** Why the directory could not decide (a 503: nothing the person typed is at fault). */
export type LdapUnavailability =
  | 'directory_unreachable'
  | 'directory_timeout'
  | 'directory_tls_failed'
  | 'service_bind_failed'
  | 'search_base_not_found'
  | 'address_not_allowed'
  | 'directory_error';

/** An entry as ldapjs 2 gives it: `dn` and attributes (string or string[]), `_raw` with Buffers. */
export interface LdapEntry {
  dn: string;
  _raw?: Record<string, Buffer | Buffer[]>;
  _groups?: Array<{ dn: string }>;
  [attribute: string]: unknown;
}

export type LdapOutcome =
  | { kind: 'ok'; entry: LdapEntry }
  | { kind: 'refused'; reason: LdapRefusal }
  | { kind: 'unavailable'; reason: LdapUnavailability; detail?: string };

/**
 * The labels passport-ldapauth puts in `info.message` when it fails a login (passed to it as the
 * authenticate options' messages), so a failure's kind survives its generic 401.
 * Active Directory's bind error `data` codes (530-775) become the account-state labels.
 */
export const FAILURE_LABELS = {
  badRequestMessage: 'blank_password',
  invalidCredentials: 'invalid_credentials',
  userNotFound: 'unknown_user',
  noSuchObject: 'search_base_not_found',
  constraintViolation: 'account_locked',
  invalidLogonHours: 'logon_restricted',
  invalidWorkstation: 'logon_restricted',
  passwordExpired: 'password_expired',
  accountDisabled: 'user_disabled',
  accountExpired: 'account_expired',
  passwordMustChange: 'password_must_change',
  accountLockedOut: 'account_locked',
} as const;

const ACCOUNT_STATES = new Set<string>([
  'account_locked',
  'logon_restricted',
  'password_expired',
  'user_disabled',
  'account_expired',
  'password_must_change',
]);

const TLS_CODES =
  /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|HOSTNAME_MISMATCH|ERR_CERT)/;
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
]);

/**
 * What passport-ldapauth's callback (error, user, info) and the binds seen on the wire mean.
 * The first bind of an attempt is the service account's; a second one is the user's, made only
 * once the search found exactly one entry.
 */
export function classifyLdapResult(
  err: unknown,
  user: unknown,
  info: unknown,
  attempt: Pick<LdapAttempt, 'binds'>,
): LdapOutcome {
  if (err) return classifyError(err);
  if (user && typeof user === 'object' && typeof (user as LdapEntry).dn === 'string')
    return { kind: 'ok', entry: user as LdapEntry };
  const label = (info as { message?: unknown } | undefined)?.message;
  const [service, userBind] = attempt.binds;
  if (service && service.ok === false)
    return { kind: 'unavailable', reason: 'service_bind_failed' };
  if (label === 'search_base_not_found')
    return { kind: 'unavailable', reason: 'search_base_not_found' };
  if (label === 'blank_password') return { kind: 'refused', reason: 'blank_password' };
  if (typeof label === 'string' && ACCOUNT_STATES.has(label))
    return { kind: 'refused', reason: label as LdapRefusal };
  return { kind: 'refused', reason: userBind ? 'wrong_password' : 'unknown_user' };
}

function classifyError(err: unknown): LdapOutcome {
  if (err instanceof EmptyPasswordBindRefused) return { kind: 'refused', reason: 'blank_password' };
  if (typeof err === 'string') {
    if (/unexpected number of matches/i.test(err))
      return { kind: 'refused', reason: 'ambiguous_user' };
    if (/no such user/i.test(err)) return { kind: 'refused', reason: 'unknown_user' };
    return { kind: 'unavailable', reason: 'directory_error', detail: err.slice(0, 200) };
  }
  const e = err as { code?: unknown; name?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const name = typeof e.name === 'string' ? e.name : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const detail = `${name || 'Error'}${code ? ` ${code}` : ''}: ${message}`.slice(0, 200);
  if (TLS_CODES.test(code) || /certificate|self[- ]signed|TLS|SSL/i.test(message))
    return { kind: 'unavailable', reason: 'directory_tls_failed', detail };
  if (name === 'TimeoutError' || /timeout/i.test(message))
    return { kind: 'unavailable', reason: 'directory_timeout', detail };
  if (
    NETWORK_CODES.has(code) ||
    name === 'ConnectionError' ||
    /connect|closed|socket/i.test(message)
  )
    return { kind: 'unavailable', reason: 'directory_unreachable', detail };
  return { kind: 'unavailable', reason: 'directory_error', detail };
}
