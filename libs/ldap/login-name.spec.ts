import { parseLoginName } from './login-name';

describe('login names (uid, UPN, DOMAIN\\user)', () => {
  it('takes a plain name and a UPN as typed, trimmed', () => {
    expect(parseLoginName('  alice ', null)).toEqual({
      ok: true,
      name: 'alice',
      form: 'plain',
      domain: null,
    });
    expect(parseLoginName('Alice@Corp.Example', null)).toEqual({
      ok: true,
      name: 'Alice@Corp.Example',
      form: 'upn',
      domain: 'corp.example',
    });
  });

  it("strips the down-level domain only when it is the connection's", () => {
    expect(parseLoginName('corp\\alice', 'CORP')).toEqual({
      ok: true,
      name: 'alice',
      form: 'downlevel',
      domain: 'CORP',
    });
    expect(parseLoginName('OTHER\\alice', 'CORP')).toEqual({
      ok: false,
      reason: 'domain_not_allowed',
    });
    expect(parseLoginName('CORP\\alice', null)).toEqual({
      ok: false,
      reason: 'domain_not_allowed',
    });
    expect(parseLoginName('CORP\\  ', 'CORP')).toEqual({ ok: false, reason: 'blank_username' });
  });

  it('refuses blank and overlong names', () => {
    for (const blank of ['', '   ', '\t\n']) {
      expect(parseLoginName(blank, null)).toEqual({ ok: false, reason: 'blank_username' });
    }
    expect(parseLoginName('a'.repeat(257), null)).toEqual({
      ok: false,
      reason: 'username_too_long',
    });
  });

  it('refuses filter syntax and control characters, in every form', () => {
    for (const attack of [
      '*',
      ')(',
      'admin)(|(uid=*',
      'alice\u0000',
      '\\',
      'a\\b\\c',
      'al*ce@corp.example',
      'CORP\\al*ce',
      'CORP\\a\\b',
      'ali\rce',
    ]) {
      expect({ attack, result: parseLoginName(attack, 'CORP') }).toEqual({
        attack,
        result: { ok: false, reason: 'username_not_allowed' },
      });
    }
    // `alice\00` reads as the down-level form (domain ALICE): refused as another domain.
    expect(parseLoginName('alice\\00', 'CORP')).toEqual({
      ok: false,
      reason: 'domain_not_allowed',
    });
  });
});
