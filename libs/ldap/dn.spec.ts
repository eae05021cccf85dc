import { firstRdnValue, looksLikeDn, normaliseDn, splitDn } from './dn';

describe('distinguished names', () => {
  it('splits at unescaped commas only', () => {
    expect(splitDn('cn=Smith\\, John,ou=people, dc=corp')).toEqual([
      'cn=Smith\\, John',
      'ou=people',
      'dc=corp',
    ]);
    expect(splitDn('cn="a,b",dc=x')).toEqual(['cn="a,b"', 'dc=x']);
  });

  it('compares DNs whatever their case and spacing', () => {
    expect(normaliseDn('CN=Quiver Admins, OU=Groups,DC=Corp ,dc=example')).toBe(
      'cn=quiver admins,ou=groups,dc=corp,dc=example',
    );
  });

  it("reads a group's common name, unescaped", () => {
    expect(firstRdnValue('cn=engineers,ou=groups,dc=corp')).toBe('engineers');
    expect(firstRdnValue('CN=Smith\\, John,OU=x')).toBe('Smith, John');
    expect(firstRdnValue('cn=J\\C3\\BCrgen,dc=x')).toBe('Jürgen');
    expect(firstRdnValue('not a dn')).toBeNull();
  });

  it('tells a DN from a bare group name', () => {
    expect(looksLikeDn('cn=admins,dc=x')).toBe(true);
    expect(looksLikeDn('quiver-admins')).toBe(false);
  });
});
