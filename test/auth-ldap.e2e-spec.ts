import { execFile } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { freePort } from './support/free-port';
import { startApp, TestApp, TestTenant } from './support/harness';
import {
  GROUPS,
  PEOPLE,
  PEOPLE_DNS,
  type LoggedOp,
  passwordOf,
  SERVICE_DN,
  SERVICE_PASSWORD,
  TestLdapServer,
} from './support/ldap-server';

const AD_FILTER = '(|(sAMAccountName={{username}})(userPrincipalName={{username}}))';
const ROLE_MAPPING = [
  { group: 'quiver-admins', role: 'admin' },
  { group: `CN=Engineers,${GROUPS.toUpperCase()}`, role: 'developer' },
  { group: 'ops', role: 'viewer' },
];

interface Connection {
  id: string;
  loginUrl: string;
}

describe('SSO with LDAP / Active Directory against a real slapd', () => {
  let api: TestApp;
  let dir: TestLdapServer;
  let t: TestTenant;
  /** ldaps://, the test CA pinned, uid filter, memberOf. */
  let ldaps: Connection;
  /** ldap:// + StartTLS, the test CA pinned, AD filter (sAMAccountName / UPN), netbiosDomain CORP. */
  let ad: Connection;

  beforeAll(async () => {
    dir = await TestLdapServer.start();
    api = await startApp({
      SSO_ALLOW_HTTP_ISSUERS: 'true',
      SSO_ALLOW_PRIVATE_ADDRESSES: 'true',
      AUTH_LOGIN_PER_MINUTE: '0',
      AUTH_REFRESH_PER_MINUTE: '0',
      SSO_LDAP_TIMEOUT_MS: '2000',
    });
    t = await api.createTenant('ldap');
    ldaps = await connect({ name: 'Corp LDAP (ldaps)' });
    ad = await connect({
      name: 'Corp AD (StartTLS)',
      url: dir.url,
      startTls: true,
      searchFilter: AD_FILTER,
      netbiosDomain: 'CORP',
    });
  });

  afterAll(async () => {
    await api?.close();
    await dir?.stop();
  });

  async function connect(overrides: Record<string, unknown> = {}): Promise<Connection> {
    const r = await t.request('POST', '/sso/connections', {
      kind: 'ldap',
      name: 'Corp LDAP',
      url: dir.ldapsUrl,
      caCertificate: dir.caPem,
      bindDn: SERVICE_DN,
      bindPassword: SERVICE_PASSWORD,
      searchBase: PEOPLE,
      roleMapping: ROLE_MAPPING,
      defaultRole: null,
      // One directory behind every connection of this suite: its email may link the same user.
      trustEmail: true,
      ...overrides,
    });
    if (r.status !== 201) throw new Error(`connection: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  function login(connection: Connection, username: string, password: string) {
    return api.request('POST', `/v1/auth/${t.slug}/${connection.id}/login`, {
      body: { username, password },
    });
  }

  async function whoami(token: string) {
    return api.request('GET', '/v1/whoami', { token });
  }

  async function lastEvent(type: 'auth.login_failed' | 'auth.login_succeeded') {
    const r = await t.request('GET', `/security-events?type=${type}`);
    return r.body.items[0].data as Record<string, unknown>;
  }

  /** A refusal: 401 problem+json with the stable code, and the reason in the security event. */
  async function expectRefused(res: Awaited<ReturnType<typeof login>>, reason: string) {
    expect({ status: res.status, code: res.body.code }).toEqual({
      status: 401,
      code: 'ldap_invalid_credentials',
    });
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await lastEvent('auth.login_failed')).toMatchObject({ method: 'ldap', reason });
  }

  async function expectUnavailable(res: Awaited<ReturnType<typeof login>>, reason: string) {
    expect({ status: res.status, code: res.body.code }).toEqual({
      status: 503,
      code: 'ldap_directory_unavailable',
    });
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await lastEvent('auth.login_failed')).toMatchObject({ method: 'ldap', reason });
  }

  describe('the admin API', () => {
    it('stores the bind password sealed: never returned, only bindPasswordSet', async () => {
      for (const r of [
        await t.request('GET', `/sso/connections/${ldaps.id}`),
        await t.request('GET', '/sso/connections'),
      ]) {
        expect(r.status).toBe(200);
        expect(JSON.stringify(r.body)).not.toContain(SERVICE_PASSWORD);
      }
      const one = await t.request('GET', `/sso/connections/${ad.id}`);
      expect(one.body).toMatchObject({
        kind: 'ldap',
        url: dir.url,
        startTls: true,
        bindDn: SERVICE_DN,
        bindPasswordSet: true,
        searchBase: PEOPLE,
        searchFilter: AD_FILTER,
        netbiosDomain: 'CORP',
        groupAttribute: 'memberOf',
        emailAttribute: 'mail',
        redirectUris: [],
        loginUrl: expect.stringMatching(new RegExp(`/v1/auth/${t.slug}/${ad.id}/login$`)),
      });
      expect(one.body).not.toHaveProperty('bindPassword');
      expect(one.body).not.toHaveProperty('clientSecretSet');
    });

    it('refuses bad settings with 400 problem+json naming the field', async () => {
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ url: 'http://dc.corp.example' }, 'url'],
        [{ url: 'ldap://dc.corp.example/ou=people' }, 'url'],
        [{ url: 'ldaps://user:pw@dc.corp.example' }, 'url'],
        [{ url: 'ldaps://' }, 'url'],
        [{ startTls: true }, 'startTls'],
        [{ caCertificate: 'not a certificate' }, 'caCertificate'],
        [{ searchFilter: '(uid=alice)' }, 'searchFilter'],
        [{ searchFilter: '(uid={{username}}' }, 'searchFilter'],
        [{ searchFilter: '(uid={{user}})' }, 'searchFilter'],
        [{ bindDn: 'quiver-svc' }, 'bindDn'],
        [{ groupSearchBase: GROUPS }, 'groupSearchFilter'],
        [{ netbiosDomain: 'NOT A DOMAIN' }, 'netbiosDomain'],
        [{ emailAttribute: 'mail)(x' }, 'emailAttribute'],
        [{ clientId: 'an-oidc-field' }, 'clientId'],
        [{ bindPassword: undefined }, 'bindPassword'],
      ];
      for (const [change, path] of cases) {
        const body = {
          kind: 'ldap',
          name: 'bad',
          url: dir.ldapsUrl,
          bindDn: SERVICE_DN,
          bindPassword: SERVICE_PASSWORD,
          searchBase: PEOPLE,
          ...change,
        };
        const r = await t.request('POST', '/sso/connections', body);
        expect({ change, status: r.status, code: r.body.code }).toEqual({
          change,
          status: 400,
          code: 'validation_failed',
        });
        expect(r.headers.get('content-type')).toContain('application/problem+json');
        expect(JSON.stringify(r.body.errors)).toContain(path);
      }
    });

    it('changes settings with PATCH, keeping the bind password unless a new one is sent', async () => {
      const c = await connect({ name: 'patch me' });
      const r = await t.request('PATCH', `/sso/connections/${c.id}`, {
        searchFilter: '(mail={{username}})',
        netbiosDomain: 'CORP',
      });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ searchFilter: '(mail={{username}})', bindPasswordSet: true });
      expect((await login(c, 'bob@corp.example', passwordOf('bob'))).status).toBe(200);
      const cleared = await t.request('PATCH', `/sso/connections/${c.id}`, { netbiosDomain: null });
      expect(cleared.body.netbiosDomain).toBeNull();
      await t.request('DELETE', `/sso/connections/${c.id}`);
    });
  });

  describe('signing in', () => {
    it('signs a user in over ldaps with the pinned CA: token pair, JIT user, mapped role', async () => {
      const mark = dir.mark();
      const r = await login(ldaps, 'alice', passwordOf('alice'));
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ tokenType: 'Bearer', expiresIn: expect.any(Number) });
      expect(typeof r.body.refreshToken).toBe('string');
      const me = await whoami(r.body.accessToken);
      expect(me.body).toMatchObject({ kind: 'user', role: 'admin', tenantId: t.id });
      const users = await t.request('GET', '/users');
      expect(users.body.items).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            email: 'alice@corp.example',
            role: 'admin',
            localPassword: false,
          }),
        ]),
      );
      expect(await lastEvent('auth.login_succeeded')).toMatchObject({
        method: 'ldap',
        connection: ldaps.id,
      });
      // The service account searched, then alice's own bind proved the password: both over TLS.
      const binds = dir.since(mark).filter((o) => o.kind === 'BIND');
      expect(binds.map((b) => b.dn)).toEqual([SERVICE_DN, PEOPLE_DNS.alice]);
      expect(binds.every((b) => (b.ssf ?? 0) > 0)).toBe(true);
      const searches = dir.since(mark).filter((o) => o.kind === 'SRCH');
      expect(searches[0]).toMatchObject({ dn: PEOPLE, filter: '(uid=alice)' });
    });

    it("accepts Active Directory's forms over StartTLS: sAMAccountName, UPN and DOMAIN\\user, as one user", async () => {
      // alice came in through the ldaps connection already, and a user another connection
      // provisioned is never linked by email: the admin removes her first, then the AD connection
      // provisions her anew (and must not link the same person twice).
      const users = await t.request('GET', '/users');
      const alice = (users.body.items as Array<{ id: string; email: string }>).find(
        (u) => u.email === 'alice@corp.example',
      );
      if (alice) expect((await t.request('DELETE', `/users/${alice.id}`)).status).toBe(204);
      const mark = dir.mark();
      const subjects = new Set<string>();
      for (const form of ['alice', 'alice@corp.example', 'CORP\\alice', 'corp\\alice']) {
        const r = await login(ad, form, passwordOf('alice'));
        expect({ form, status: r.status }).toEqual({ form, status: 200 });
        const me = await whoami(r.body.accessToken);
        expect(me.body.role).toBe('admin');
        subjects.add(me.body.userId);
      }
      expect(subjects.size).toBe(1);
      // Nothing before the TLS handshake: every bind of these logins came at ssf > 0.
      const binds = dir.since(mark).filter((o) => o.kind === 'BIND');
      expect(binds.length).toBe(8);
      expect(binds.filter((b) => !(b.ssf! > 0))).toEqual([]);
      // A down-level name of another domain never becomes this domain's same-named account.
      await expectRefused(
        await login(ad, 'OTHER\\alice', passwordOf('alice')),
        'domain_not_allowed',
      );
    });

    it('follows the groups in the directory at every login (ldapmodify between logins)', async () => {
      const dev = await login(ldaps, 'bob', passwordOf('bob'));
      expect((await whoami(dev.body.accessToken)).body.role).toBe('developer');

      await dir.setMembership('quiver-admins', PEOPLE_DNS.bob, true);
      let adminToken: string;
      try {
        const admin = await login(ldaps, 'bob', passwordOf('bob'));
        adminToken = admin.body.accessToken as string;
        expect((await whoami(adminToken)).body.role).toBe('admin');
      } finally {
        await dir.setMembership('quiver-admins', PEOPLE_DNS.bob, false);
      }
      const again = await login(ldaps, 'bob', passwordOf('bob'));
      expect((await whoami(again.body.accessToken)).body.role).toBe('developer');
      // The lower role ended the admin session.
      expect((await whoami(adminToken)).status).toBe(401);
    });

    it('finds groups with a group search, escaping the DN per RFC 4515 in the filter', async () => {
      const c = await connect({
        name: 'group search',
        groupAttribute: null,
        groupSearchBase: GROUPS,
        groupSearchFilter: '(member={{dn}})',
      });
      const mark = dir.mark();
      const r = await login(c, 'olga', passwordOf('olga'));
      expect(r.status).toBe(200);
      expect((await whoami(r.body.accessToken)).body.role).toBe('viewer');
      const groupSearch = dir.since(mark).find((o) => o.kind === 'SRCH' && o.dn === GROUPS);
      // slapd logs the filter normalised (lower case).
      expect(groupSearch?.filter).toBe(`(member=cn=olga \\28ops\\29\\2A,${PEOPLE})`);
    });

    it('does not take over an existing user by email unless the connection trusts the directory email', async () => {
      // alice exists (the AD connection provisioned her above).
      const users = await t.request('GET', '/users');
      expect(users.body.items).toEqual(
        expect.arrayContaining([expect.objectContaining({ email: 'alice@corp.example' })]),
      );
      const c = await connect({ name: 'untrusted email', trustEmail: false });
      const r = await login(c, 'alice', passwordOf('alice'));
      expect({ status: r.status, code: r.body.code }).toEqual({ status: 401, code: 'sso_failed' });
      expect(await lastEvent('auth.login_failed')).toMatchObject({
        method: 'ldap',
        reason: 'email_not_verified',
      });
    });

    it('refuses a user none of whose groups maps to a role (403 sso_no_role)', async () => {
      const c = await connect({
        name: 'no mapping',
        roleMapping: [{ group: 'nobody', role: 'admin' }],
      });
      const r = await login(c, 'bob', passwordOf('bob'));
      expect({ status: r.status, code: r.body.code }).toEqual({ status: 403, code: 'sso_no_role' });
      expect(await lastEvent('auth.login_failed')).toMatchObject({
        method: 'ldap',
        reason: 'no_role',
      });
    });
  });

  describe('refusing', () => {
    /** What a login did at the directory: each operation's kind, and on which of its connections. */
    function shapeOf(ops: LoggedOp[]) {
      const conns = [...new Set(ops.map((o) => o.conn))];
      return ops.map((o) => ({ kind: o.kind, conn: conns.indexOf(o.conn), tls: (o.ssf ?? 1) > 0 }));
    }

    async function attemptAt(connection: Connection, username: string, reason: string) {
      const mark = dir.mark();
      await expectRefused(await login(connection, username, 'not-the-password-1'), reason);
      const ops = dir.since(mark);
      return {
        ops,
        shape: shapeOf(ops),
        binds: ops.filter((o) => o.kind === 'BIND').map((o) => o.dn),
      };
    }

    it('refuses a wrong password and an unknown user alike, with the same directory work, recording which it was', async () => {
      for (const connection of [ldaps, ad]) {
        const wrong = await attemptAt(connection, 'alice', 'wrong_password');
        const unknown = await attemptAt(connection, 'nobody-here', 'unknown_user');
        expect(wrong.binds).toEqual([SERVICE_DN, PEOPLE_DNS.alice]);
        // Nobody to bind as: the bind a password check costs still goes out, on the user's
        // connection as usual, as an entry no directory holds (timing does not tell who exists).
        expect(unknown.binds).toEqual([SERVICE_DN, `cn=quiver-no-such-entry,${PEOPLE}`]);
        expect(unknown.shape).toEqual(wrong.shape);
        expect(unknown.shape.filter((o) => o.kind === 'BIND').map((o) => o.conn)).toEqual([0, 1]);
      }
    });

    it('refuses an empty or blank password before any bind, though this server would take one', async () => {
      // The danger is real: this slapd accepts an unauthenticated bind (DN, empty password).
      const unauthenticated = await new Promise<string>((resolve) =>
        execFile(
          'ldapwhoami',
          ['-x', '-H', dir.url, '-D', PEOPLE_DNS.alice, '-w', ''],
          (err, stdout, stderr) => resolve(err ? `error: ${stderr}` : stdout.trim()),
        ),
      );
      expect(unauthenticated).toBe('anonymous');

      for (const password of ['', ' ', '   \t ']) {
        for (const connection of [ldaps, ad]) {
          const mark = dir.mark();
          await expectRefused(await login(connection, 'alice', password), 'blank_password');
          // Not a bind, not even a search: the directory was not asked.
          expect(dir.since(mark)).toEqual([]);
        }
      }
    });

    it('refuses LDAP injection in the username without asking the directory', async () => {
      const attacks = [
        '*',
        ')(',
        'admin)(|(uid=*',
        '*)(uid=*))(|(uid=*',
        'alice)(uid=*',
        'alice\u0000',
        'a*',
      ];
      for (const username of attacks) {
        for (const connection of [ldaps, ad]) {
          const mark = dir.mark();
          const r = await login(connection, username, passwordOf('alice'));
          await expectRefused(r, 'username_not_allowed');
          expect({ username, ops: dir.since(mark) }).toEqual({ username, ops: [] });
        }
      }
      // `alice\00` as text reads as DOMAIN\user: refused as another domain, never as alice.
      await expectRefused(await login(ad, 'alice\\00', passwordOf('alice')), 'domain_not_allowed');
      await expectRefused(
        await login(ldaps, 'alice\\00', passwordOf('alice')),
        'domain_not_allowed',
      );
    });

    it('refuses a name the filter finds twice without binding as either, at the cost of a wrong password', async () => {
      const wrong = await attemptAt(ldaps, 'alice', 'wrong_password');
      const twice = await attemptAt(ldaps, 'twin', 'ambiguous_user');
      expect(twice.binds).toEqual([SERVICE_DN, `cn=quiver-no-such-entry,${PEOPLE}`]);
      expect(twice.shape).toEqual(wrong.shape);
    });

    it('refuses disabled accounts: AD ACCOUNTDISABLE and an OpenLDAP ppolicy lock', async () => {
      await expectRefused(await login(ad, 'CORP\\dave', passwordOf('dave')), 'user_disabled');
      await expectRefused(await login(ldaps, 'lena', passwordOf('lena')), 'account_locked');
      const users = await t.request('GET', '/users');
      const emails = (users.body.items as Array<{ email: string }>).map((u) => u.email);
      expect(emails).not.toContain('dave@corp.example');
      expect(emails).not.toContain('lena@corp.example');
    });

    it('never lets the service account sign in as a person', async () => {
      const c = await connect({
        name: 'wide base',
        searchBase: 'dc=corp,dc=example',
        searchFilter: '(|(uid={{username}})(cn={{username}}))',
      });
      await expectRefused(await login(c, 'quiver-svc', SERVICE_PASSWORD), 'service_account');
    });
  });

  describe('when the directory cannot answer', () => {
    it('answers 503 for an unreachable server, and for one that never answers, within the timeout', async () => {
      const closed = await connect({
        name: 'closed port',
        url: `ldap://127.0.0.1:${await freePort()}`,
      });
      await expectUnavailable(
        await login(closed, 'alice', passwordOf('alice')),
        'directory_unreachable',
      );

      const sockets = new Set<Socket>();
      const silent: Server = createServer((s) => sockets.add(s));
      const port = await freePort();
      await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
      try {
        const hang = await connect({ name: 'silent', url: `ldap://127.0.0.1:${port}` });
        const started = Date.now();
        await expectUnavailable(
          await login(hang, 'alice', passwordOf('alice')),
          'directory_timeout',
        );
        expect(Date.now() - started).toBeLessThan(5000);
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    });

    it('refuses a certificate from another CA than the pinned one, on ldaps and StartTLS alike', async () => {
      const wrongLdaps = await connect({ name: 'wrong CA', caCertificate: dir.otherCaPem });
      await expectUnavailable(
        await login(wrongLdaps, 'alice', passwordOf('alice')),
        'directory_tls_failed',
      );

      const wrongStartTls = await connect({
        name: 'wrong CA, StartTLS',
        url: dir.url,
        startTls: true,
        caCertificate: dir.otherCaPem,
      });
      const mark = dir.mark();
      await expectUnavailable(
        await login(wrongStartTls, 'alice', passwordOf('alice')),
        'directory_tls_failed',
      );
      // No fallback to clear text: nothing was bound or searched.
      expect(dir.since(mark)).toEqual([]);

      // Without a pinned CA only the system's CAs count: a private CA is not trusted silently.
      const unpinned = await connect({ name: 'system CAs', caCertificate: null });
      await expectUnavailable(
        await login(unpinned, 'alice', passwordOf('alice')),
        'directory_tls_failed',
      );
    });

    it('answers 503 when the service account is refused (a setup problem, not the user)', async () => {
      const c = await connect({ name: 'bad service password', bindPassword: 'wrong-secret' });
      await expectUnavailable(await login(c, 'alice', passwordOf('alice')), 'service_bind_failed');
    });
  });

  describe('routing', () => {
    it('keeps the browser GET login for redirect kinds, and the POST for LDAP connections only', async () => {
      const get = await api.request('GET', `/v1/auth/${t.slug}/${ldaps.id}/login?redirect=x`);
      expect(get.status).toBe(404);
      const other = await api.createTenant('ldap-other');
      const cross = await api.request('POST', `/v1/auth/${other.slug}/${ldaps.id}/login`, {
        body: { username: 'alice', password: passwordOf('alice') },
      });
      expect({ status: cross.status, code: cross.body.code }).toEqual({
        status: 404,
        code: 'sso_connection_not_found',
      });
      await t.request('PATCH', `/sso/connections/${ldaps.id}`, { enabled: false });
      try {
        expect((await login(ldaps, 'alice', passwordOf('alice'))).status).toBe(403);
      } finally {
        await t.request('PATCH', `/sso/connections/${ldaps.id}`, { enabled: true });
      }
      const bad = await api.request('POST', `/v1/auth/${t.slug}/${ldaps.id}/login`, {
        body: { username: 'alice' },
      });
      expect({ status: bad.status, code: bad.body.code }).toEqual({
        status: 400,
        code: 'validation_failed',
      });
    });
  });
});
