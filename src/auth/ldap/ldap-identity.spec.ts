import { accountState, formatGuid, groupKey, identityOf, subjectOf } from './ldap-identity';
import { LDAP_KIND, type LdapConfig } from './ldap-kind';

const CONFIG = LDAP_KIND.build(
  { url: 'ldaps://dc', bindDn: 'cn=svc,dc=x', searchBase: 'dc=x', trustEmail: true },
  undefined,
  { allowHttp: false },
) as LdapConfig;

describe('the identity an LDAP entry gives', () => {
  it('takes a stable subject: entryUUID, else objectGUID, else the DN', () => {
    expect(subjectOf({ dn: 'uid=a,dc=x', entryUUID: 'A3F1C2D4-0000-4000-8000-000000000001' })).toBe(
      'entryUUID:a3f1c2d4-0000-4000-8000-000000000001',
    );
    const guid = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    expect(subjectOf({ dn: 'CN=A,DC=x', _raw: { objectGUID: guid } })).toBe(
      'objectGUID:33221100-5544-7766-8899-aabbccddeeff',
    );
    expect(formatGuid(guid)).toBe('33221100-5544-7766-8899-aabbccddeeff');
    expect(subjectOf({ dn: 'UID=A, DC=X' })).toBe('dn:uid=a,dc=x');
  });

  it('reads email, name and groups (DN and cn, case-insensitively), from memberOf and a group search', () => {
    const identity = identityOf(
      {
        dn: 'uid=a,dc=x',
        entryUUID: '00000000-0000-4000-8000-000000000001',
        MAIL: ' a@corp.example ',
        cn: 'Ann A',
        memberOf: ['CN=Quiver Admins,OU=Groups,DC=x', 'cn=eng,ou=groups,dc=x'],
        _groups: [{ dn: 'cn=ops,ou=groups,dc=x' }],
      },
      CONFIG,
    );
    expect(identity).toEqual({
      subject: 'entryUUID:00000000-0000-4000-8000-000000000001',
      email: 'a@corp.example',
      emailVerified: true,
      displayName: 'Ann A',
      groups: [
        'cn=quiver admins,ou=groups,dc=x',
        'quiver admins',
        'cn=eng,ou=groups,dc=x',
        'eng',
        'cn=ops,ou=groups,dc=x',
        'ops',
      ],
    });
    expect(groupKey('CN=Quiver Admins, OU=Groups, DC=x')).toBe('cn=quiver admins,ou=groups,dc=x');
    expect(groupKey(' Quiver Admins ')).toBe('quiver admins');
    expect(identityOf({ dn: 'uid=b,dc=x' }, CONFIG)).toMatchObject({ email: null, groups: [] });
  });

  it('sees disabled and locked accounts', () => {
    expect(accountState({ dn: 'x', userAccountControl: '514' })).toBe('user_disabled');
    expect(accountState({ dn: 'x', userAccountControl: '512' })).toBeNull();
    expect(accountState({ dn: 'x', pwdAccountLockedTime: '000001010000Z' })).toBe('account_locked');
    expect(accountState({ dn: 'x' })).toBeNull();
  });
});
