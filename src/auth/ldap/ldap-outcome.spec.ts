import { EmptyPasswordBindRefused } from './ldap-client-hook';
import { classifyLdapResult } from './ldap-outcome';

const SERVICE_OK = { dn: 'cn=svc', ok: true };

function error(name: string, message: string, code?: string) {
  return Object.assign(new Error(message), { name, ...(code ? { code } : {}) });
}

describe('what an LDAP attempt came to', () => {
  it('passes a found entry on', () => {
    const entry = { dn: 'uid=a,dc=x' };
    expect(classifyLdapResult(null, entry, undefined, { binds: [SERVICE_OK] })).toEqual({
      kind: 'ok',
      entry,
    });
  });

  it("tells a wrong password from an unknown user by whether the user's bind happened", () => {
    const info = { message: 'invalid_credentials' };
    expect(
      classifyLdapResult(null, false, info, {
        binds: [SERVICE_OK, { dn: 'uid=a,dc=x', ok: false }],
      }),
    ).toEqual({ kind: 'refused', reason: 'wrong_password' });
    expect(classifyLdapResult(null, false, info, { binds: [SERVICE_OK] })).toEqual({
      kind: 'refused',
      reason: 'unknown_user',
    });
  });

  it("blames the service account, not the user, when the service account's bind fails", () => {
    expect(
      classifyLdapResult(
        null,
        false,
        { message: 'invalid_credentials' },
        {
          binds: [{ dn: 'cn=svc', ok: false }],
        },
      ),
    ).toEqual({ kind: 'unavailable', reason: 'service_bind_failed' });
  });

  it("keeps Active Directory's account states (data 533, 775, ...)", () => {
    for (const reason of [
      'user_disabled',
      'account_locked',
      'password_expired',
      'account_expired',
    ]) {
      expect(
        classifyLdapResult(
          null,
          false,
          { message: reason },
          {
            binds: [SERVICE_OK, { dn: 'u', ok: false }],
          },
        ),
      ).toEqual({ kind: 'refused', reason });
    }
  });

  it('refuses more than one match, and an empty-password bind the hook held back', () => {
    expect(
      classifyLdapResult(
        'unexpected number of matches (2) for "twin" username',
        undefined,
        undefined,
        {
          binds: [SERVICE_OK],
        },
      ),
    ).toEqual({ kind: 'refused', reason: 'ambiguous_user' });
    expect(
      classifyLdapResult(new EmptyPasswordBindRefused(), undefined, undefined, { binds: [] }),
    ).toEqual({ kind: 'refused', reason: 'blank_password' });
  });

  it('makes every transport problem a 503 reason, never an exception', () => {
    const cases: Array<[unknown, string]> = [
      [error('Error', 'connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'), 'directory_unreachable'],
      [error('ConnectionError', 'connection timeout'), 'directory_timeout'],
      [error('TimeoutError', 'request timeout (client interrupt)'), 'directory_timeout'],
      [
        error('Error', 'unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
        'directory_tls_failed',
      ],
      [
        error(
          'Error',
          "Hostname/IP does not match certificate's altnames",
          'ERR_TLS_CERT_ALTNAME_INVALID',
        ),
        'directory_tls_failed',
      ],
      [error('ProtocolError', 'unsupported extended operation'), 'directory_error'],
      ['non-zero status from LDAP search: 32', 'directory_error'],
    ];
    for (const [err, reason] of cases) {
      expect(classifyLdapResult(err, undefined, undefined, { binds: [] })).toMatchObject({
        kind: 'unavailable',
        reason,
      });
    }
  });
});
