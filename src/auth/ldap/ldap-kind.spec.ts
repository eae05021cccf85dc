import { LDAP_KIND, normaliseLdapUrl, type LdapConfig } from './ldap-kind';

const BASE = {
  url: 'ldaps://dc1.corp.example',
  bindDn: 'cn=svc,dc=corp,dc=example',
  searchBase: 'ou=people,dc=corp,dc=example',
};

function build(input: Record<string, unknown>, allowHttp = false, current?: LdapConfig) {
  return LDAP_KIND.build(input, current, { allowHttp }) as LdapConfig;
}

function refusal(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return (err as { extra?: { errors?: unknown } }).extra?.errors;
  }
  return 'accepted';
}

describe('LDAP connection settings', () => {
  it('fills the defaults: uid filter, memberOf, mail, cn, email not trusted', () => {
    expect(build(BASE)).toEqual({
      ...BASE,
      startTls: false,
      caCertificate: null,
      searchFilter: '(uid={{username}})',
      netbiosDomain: null,
      groupAttribute: 'memberOf',
      groupSearchBase: null,
      groupSearchFilter: null,
      emailAttribute: 'mail',
      nameAttribute: 'cn',
      trustEmail: false,
    });
  });

  it('refuses clear-text LDAP unless StartTLS, or development mode, allows it', () => {
    expect(refusal(() => build({ ...BASE, url: 'ldap://dc1.corp.example' }))).toEqual([
      expect.objectContaining({ path: 'url' }),
    ]);
    expect(build({ ...BASE, url: 'ldap://dc1.corp.example', startTls: true }).startTls).toBe(true);
    expect(build({ ...BASE, url: 'ldap://dc1.corp.example' }, true).url).toBe(
      'ldap://dc1.corp.example',
    );
    expect(refusal(() => build({ ...BASE, startTls: true }))).toEqual([
      expect.objectContaining({ path: 'startTls' }),
    ]);
  });

  it('keeps only scheme, host and port of the URL', () => {
    expect(normaliseLdapUrl('LDAPS://DC1.corp.example:636/')).toBe('ldaps://dc1.corp.example:636');
    expect(normaliseLdapUrl('ldap://[::1]:3389')).toBe('ldap://[::1]:3389');
    for (const bad of [
      'https://x',
      'ldap://x/dc=corp',
      'ldap://x?y',
      'ldaps://u:p@x',
      'nonsense',
    ]) {
      expect(() => normaliseLdapUrl(bad)).toThrow();
    }
  });

  it('checks filter templates when saved: placeholders, syntax, group search pairs', () => {
    expect(refusal(() => build({ ...BASE, searchFilter: '(uid=alice)' }))).toEqual([
      { path: 'searchFilter', message: 'searchFilter must contain {{username}}' },
    ]);
    expect(refusal(() => build({ ...BASE, searchFilter: '(uid={{dn}})' }))).toEqual([
      expect.objectContaining({ path: 'searchFilter' }),
    ]);
    expect(refusal(() => build({ ...BASE, searchFilter: 'uid={{username}}' }))).toEqual([
      expect.objectContaining({ path: 'searchFilter' }),
    ]);
    expect(refusal(() => build({ ...BASE, groupSearchFilter: '(member={{dn}})' }))).toEqual([
      expect.objectContaining({ path: 'groupSearchBase' }),
    ]);
    const grouped = build({
      ...BASE,
      groupSearchBase: 'ou=groups,dc=corp,dc=example',
      groupSearchFilter: '(|(member={{dn}})(memberUid={{username}}))',
    });
    expect(grouped.groupSearchFilter).toBe('(|(member={{dn}})(memberUid={{username}}))');
  });

  it('merges an update into the current settings, null clearing an optional one', () => {
    const current = build({ ...BASE, netbiosDomain: 'CORP', trustEmail: true });
    const next = build({ netbiosDomain: null, nameAttribute: 'displayName' }, false, current);
    expect(next).toMatchObject({
      netbiosDomain: null,
      nameAttribute: 'displayName',
      trustEmail: true,
    });
    expect(next.url).toBe(BASE.url);
  });

  it('refuses a CA certificate that is not PEM or does not parse', () => {
    for (const pem of ['hello', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----']) {
      expect(refusal(() => build({ ...BASE, caCertificate: pem }))).toEqual([
        expect.objectContaining({ path: 'caCertificate' }),
      ]);
    }
  });

  it('shows everything but the bind password', () => {
    const view = LDAP_KIND.view(build(BASE), { baseUrl: 'http://q/v1/auth/t/c', secretSet: true });
    expect(view).toMatchObject({ url: BASE.url, bindDn: BASE.bindDn, bindPasswordSet: true });
    expect(Object.keys(view)).not.toContain('bindPassword');
  });
});
