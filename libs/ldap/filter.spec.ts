import {
  checkFilterSyntax,
  escapeFilterValue,
  fillFilterTemplate,
  templatePlaceholders,
} from './filter';

describe('RFC 4515 filter values', () => {
  it('escapes the five characters section 3 requires', () => {
    expect(escapeFilterValue('*')).toBe('\\2a');
    expect(escapeFilterValue('(')).toBe('\\28');
    expect(escapeFilterValue(')')).toBe('\\29');
    expect(escapeFilterValue('\\')).toBe('\\5c');
    expect(escapeFilterValue('\u0000')).toBe('\\00');
  });

  it("reproduces the RFC's own examples of escaped values", () => {
    // RFC 4515 section 4: (o=Parens R Us \28for all your parenthetical needs\29), (cn=*\2A*), (filename=C:\5cMyFile)
    expect(escapeFilterValue('Parens R Us (for all your parenthetical needs)')).toBe(
      'Parens R Us \\28for all your parenthetical needs\\29',
    );
    expect(escapeFilterValue('C:\\MyFile')).toBe('C:\\5cMyFile');
  });

  it('escapes a backslash once, not the backslashes of its own escapes', () => {
    // ldapauth-fork escapes `*` to `\2a` and then every `\` to `\5c`, turning it into `\5c2a`.
    expect(escapeFilterValue('a*b\\c')).toBe('a\\2ab\\5cc');
  });

  it('neutralises the classic injection strings', () => {
    for (const attack of ['*', ')(', 'admin)(|(uid=*', '*)(uid=*))(|(uid=*', 'x\u0000', 'a\\00']) {
      const escaped = escapeFilterValue(attack);
      // eslint-disable-next-line no-control-regex -- NUL is one of the characters checked
      expect(escaped).not.toMatch(/[*()\u0000]/);
      expect(escaped.replace(/\\[0-9a-f]{2}/g, '')).not.toContain('\\');
      expect(checkFilterSyntax(`(uid=${escaped})`)).toBeNull();
    }
  });

  it('escapes other control characters and braces, keeps non-ASCII as is', () => {
    expect(escapeFilterValue('a\tb\u007f')).toBe('a\\09b\\7f');
    expect(escapeFilterValue('{{username}}')).toBe('\\7b\\7busername\\7d\\7d');
    expect(escapeFilterValue('Jürgen Øster 名前')).toBe('Jürgen Øster 名前');
  });

  it('fills every placeholder with its escaped value, and refuses a placeholder without one', () => {
    expect(
      fillFilterTemplate('(&(objectClass=person)(|(uid={{username}})(mail={{username}})))', {
        username: 'a*',
      }),
    ).toBe('(&(objectClass=person)(|(uid=a\\2a)(mail=a\\2a)))');
    expect(fillFilterTemplate('(member={{dn}})', { dn: 'cn=Bob (Ops),dc=x' })).toBe(
      '(member=cn=Bob \\28Ops\\29,dc=x)',
    );
    // A value that spells a placeholder stays text: no second expansion.
    expect(fillFilterTemplate('(uid={{username}})', { username: '{{dn}}' })).toBe(
      '(uid=\\7b\\7bdn\\7d\\7d)',
    );
    expect(() => fillFilterTemplate('(uid={{user}})', { username: 'a' })).toThrow(/user/);
    expect(templatePlaceholders('(|(a={{username}})(b={{dn}})(c={{username}}))')).toEqual([
      'username',
      'dn',
    ]);
  });

  it('catches malformed administrator filters', () => {
    expect(checkFilterSyntax('(uid=a)')).toBeNull();
    expect(
      checkFilterSyntax('(&(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))'),
    ).toBeNull();
    expect(checkFilterSyntax('')).toBe('empty');
    expect(checkFilterSyntax('uid=a')).toBe('not_parenthesised');
    expect(checkFilterSyntax('(&(uid=a)')).toBe('unbalanced');
    expect(checkFilterSyntax('(uid=a))(')).toBe('not_parenthesised');
    expect(checkFilterSyntax('(uid=a))')).toBe('unbalanced');
    expect(checkFilterSyntax('(uid=a)(uid=b)')).toBe('unbalanced');
    expect(checkFilterSyntax('(uid=\\zz)')).toBe('bad_escape');
  });
});
