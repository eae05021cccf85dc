import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The SAML stack's floor versions, checked in the lock file itself: each of these fixed a way to
 * forge a login (xml-crypto < 6.1.2: CVE-2025-29774/29775; node-saml < 5.1.0: CVE-2025-54419), and
 * a future `npm install` could pull an older copy in under another package.
 */
describe('SAML dependencies in package-lock.json', () => {
  const lock = JSON.parse(readFileSync(join(__dirname, '../../../package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  const copies = (name: string) =>
    Object.entries(lock.packages)
      .filter(([path]) => path === `node_modules/${name}` || path.endsWith(`/node_modules/${name}`))
      .map(([path, p]) => ({ path, version: p.version ?? '' }));

  const atLeast = (version: string, floor: string) => {
    const [a, b] = [version, floor].map((v) => v.split(/[.-]/).slice(0, 3).map(Number));
    for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i];
    return true;
  };

  it.each([
    ['xml-crypto', '6.1.2'],
    ['@node-saml/node-saml', '5.1.0'],
    ['@node-saml/passport-saml', '5.1.0'],
  ])('every copy of %s is at least %s', (name, floor) => {
    const found = copies(name);
    expect(found.length).toBeGreaterThan(0);
    for (const c of found)
      expect({ ...c, ok: atLeast(c.version, floor) }).toMatchObject({ ok: true });
  });

  it('has no unscoped passport-saml (unmaintained, vulnerable)', () => {
    expect(copies('passport-saml')).toEqual([]);
  });
});
