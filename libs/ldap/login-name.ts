/**
 * The forms a person may type as an LDAP / Active Directory login name:
 * - `alice`               plain (uid, sAMAccountName, cn, whatever the search filter compares)
 * - `alice@corp.example`  a userPrincipalName (or a mail address): passed on whole
 * - `CORP\alice`          the down-level logon name: the NetBIOS domain is checked and removed
 */
export type LoginForm = 'plain' | 'upn' | 'downlevel';

export type LoginNameResult =
  | { ok: true; name: string; form: LoginForm; domain: string | null }
  | { ok: false; reason: LoginNameRefusal };

export type LoginNameRefusal =
  /** Empty or only whitespace. */
  | 'blank_username'
  /** Longer than any directory name we accept. */
  | 'username_too_long'
  /** Holds filter syntax or control characters: never a name, always an attempt at injection. */
  | 'username_not_allowed'
  /** `DOMAIN\user` with a domain other than the connection's, or when it names none. */
  | 'domain_not_allowed';

export const MAX_LOGIN_NAME_LENGTH = 256;

/** Filter syntax (RFC 4515 specials) and control characters: refused before any directory request. */
// eslint-disable-next-line no-control-regex -- control characters are what this matches
const FORBIDDEN = /[\u0000-\u001f\u007f*()\\]/;
const NETBIOS = /^[A-Za-z0-9][A-Za-z0-9.-]{0,14}$/;

/**
 * Normalises what was typed in the username box. Surrounding whitespace is dropped; the result
 * still has to go through {@link escapeFilterValue} before it enters a filter (defence in depth: the
 * characters refused here are exactly the ones a filter cannot hold raw).
 *
 * @param netbiosDomain the connection's NetBIOS domain; `DOMAIN\user` is accepted only when the
 *   domain equals it (case-insensitively), so a name of another domain in the forest never logs in
 *   as the same-named account of this one.
 */
export function parseLoginName(input: string, netbiosDomain: string | null): LoginNameResult {
  const typed = input.trim();
  if (!typed) return { ok: false, reason: 'blank_username' };
  if (typed.length > MAX_LOGIN_NAME_LENGTH) return { ok: false, reason: 'username_too_long' };

  const slash = typed.indexOf('\\');
  if (slash > 0 && NETBIOS.test(typed.slice(0, slash))) {
    const domain = typed.slice(0, slash);
    const name = typed.slice(slash + 1).trim();
    if (!name) return { ok: false, reason: 'blank_username' };
    if (FORBIDDEN.test(name)) return { ok: false, reason: 'username_not_allowed' };
    if (!netbiosDomain || domain.toUpperCase() !== netbiosDomain.toUpperCase())
      return { ok: false, reason: 'domain_not_allowed' };
    return { ok: true, name, form: 'downlevel', domain: domain.toUpperCase() };
  }
  if (FORBIDDEN.test(typed)) return { ok: false, reason: 'username_not_allowed' };

  const at = typed.lastIndexOf('@');
  if (at > 0 && at < typed.length - 1) {
    return { ok: true, name: typed, form: 'upn', domain: typed.slice(at + 1).toLowerCase() };
  }
  return { ok: true, name: typed, form: 'plain', domain: null };
}

export function isNetbiosDomain(value: string): boolean {
  return NETBIOS.test(value);
}
