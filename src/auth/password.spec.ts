import { decoyHash, hashPassword, verifyPassword } from './password';

describe('passwords (scrypt)', () => {
  it('verifies the right password and refuses others', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
    for (const wrong of ['', ' ', 'correct horse battery stapl', 'Correct horse battery staple']) {
      expect(await verifyPassword(wrong, hash)).toBe(false);
    }
  });

  it('salts: the same password hashes differently each time', async () => {
    expect(await hashPassword('same password here')).not.toBe(
      await hashPassword('same password here'),
    );
  });

  it('treats Unicode compositions of one password as the same (NFKC)', async () => {
    const hash = await hashPassword('caf\u00e9-password-1');
    expect(await verifyPassword('cafe\u0301-password-1', hash)).toBe(true);
  });

  it('answers false, never throws, for malformed stored hashes', async () => {
    for (const bad of [
      '',
      'plain',
      'scrypt$1$2$3',
      'bcrypt$x$y$z$a$b',
      'scrypt$abc$8$1$AAAA$AAAA',
      'scrypt$1099511627776$8$1$AAAA$AAAA',
    ]) {
      expect(await verifyPassword('x', bad)).toBe(false);
    }
  });

  it('keeps a decoy hash for unknown users, which no password matches', async () => {
    expect(await verifyPassword('', await decoyHash())).toBe(false);
  });
});
