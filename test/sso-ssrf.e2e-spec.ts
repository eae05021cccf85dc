import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startApp, TestApp } from './support/harness';

const CONSOLE = 'https://console.acme.example/after-login';
const SECRET = 'idp-client-secret-1';

/** An HTTP server on loopback that only counts what reaches it (the IdP an SSRF would hit). */
async function countingHttp(): Promise<{ server: HttpServer; url: string; hits: () => number }> {
  let hits = 0;
  const server = createHttpServer((_req, res) => {
    hits++;
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, hits: () => hits };
}

/** A TCP server on loopback that counts connections (the directory an SSRF would hit). */
async function countingTcp(): Promise<{ server: TcpServer; port: number; hits: () => number }> {
  let hits = 0;
  const server = createTcpServer((socket) => {
    hits++;
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, hits: () => hits };
}

/** The browser's first leg of a login, against the running api (not PUBLIC_URL). */
const loginUrl = (api: TestApp, slug: string, id: string) =>
  `${api.baseUrl}/v1/auth/${slug}/${id}/login?redirect=${encodeURIComponent(CONSOLE)}`;

const oidc = (issuer: string) => ({
  kind: 'oidc',
  name: 'Corp IdP',
  issuer,
  clientId: 'quiver',
  clientSecret: SECRET,
  redirectUris: [CONSOLE],
  roleMapping: [],
  defaultRole: 'viewer',
});

const ldap = (url: string) => ({
  kind: 'ldap',
  name: 'Corp LDAP',
  url,
  bindDn: 'cn=svc,dc=corp,dc=example',
  bindPassword: 'service-secret',
  searchBase: 'ou=people,dc=corp,dc=example',
  roleMapping: [],
  defaultRole: 'viewer',
});

/**
 * A tenant admin must not be able to make Quiver connect into its own network (SSRF) through an
 * SSO connection: refused when saved, and again when a login would connect, on the address itself.
 */
describe('SSO connections: private addresses (SSRF)', () => {
  let idp: Awaited<ReturnType<typeof countingHttp>>;
  let dir: Awaited<ReturnType<typeof countingTcp>>;

  beforeAll(async () => {
    idp = await countingHttp();
    dir = await countingTcp();
  });

  afterAll(async () => {
    await new Promise((r) => idp.server.close(r));
    await new Promise((r) => dir.server.close(r));
  });

  describe('with private addresses not allowed (the default)', () => {
    let api: TestApp;

    beforeAll(async () => {
      api = await startApp({ SSO_ALLOW_HTTP_ISSUERS: 'true', AUTH_LOGIN_PER_MINUTE: '0' });
    });
    afterAll(() => api.close());

    it.each([
      ['loopback with a port', () => idp.url, 'loopback'],
      ['the cloud metadata address', () => 'http://169.254.169.254', 'linkLocal'],
      ['IPv6 loopback', () => 'http://[::1]:8080', 'loopback'],
      ['IPv4-mapped IPv6 loopback', () => 'http://[::ffff:127.0.0.1]', 'loopback'],
      ['RFC 1918', () => 'https://10.0.0.1', 'private'],
      ['0.0.0.0', () => 'http://0.0.0.0:80', 'unspecified'],
      [
        'a name resolving to loopback',
        () => `http://localhost:${new URL(idp.url).port}`,
        'loopback',
      ],
    ])('refuses an OIDC issuer on %s with sso_address_not_allowed', async (_, issuer, range) => {
      const t = await api.createTenant('ssrf-oidc');
      const before = idp.hits();
      const r = await t.request('POST', '/sso/connections', oidc(issuer()));
      expect(r.status).toBe(400);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      expect(r.body).toMatchObject({ code: 'sso_address_not_allowed', field: 'issuer', range });
      expect(r.body.detail).toContain('not allowed');
      expect((await t.request('GET', '/sso/connections')).body.items).toEqual([]);
      expect(idp.hits()).toBe(before);
    });

    it.each([
      ['ldap://127.0.0.1', 'loopback'],
      ['ldaps://10.0.0.1', 'private'],
      ['ldaps://[::1]:636', 'loopback'],
      ['ldaps://[::ffff:a9fe:a9fe]', 'linkLocal'],
      ['ldaps://localhost', 'loopback'],
      ['ldaps://100.64.0.1', 'carrierGradeNat'],
      // Not parsed by us: the resolver reads the decimal spelling, and its answer is checked.
      ['ldaps://2130706433', 'loopback'],
    ])('refuses an LDAP url %s with sso_address_not_allowed', async (url, range) => {
      const t = await api.createTenant('ssrf-ldap');
      const r = await t.request('POST', '/sso/connections', ldap(url));
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ code: 'sso_address_not_allowed', field: 'url', range });
    });

    it('checks a changed issuer on update, and lets an unchanged one be edited', async () => {
      const t = await api.createTenant('ssrf-upd');
      // A name that cannot resolve is accepted when saved (the connect-time check decides).
      const c = await t.request('POST', '/sso/connections', oidc('https://idp.corp.example'));
      expect(c.status).toBe(201);
      const moved = await t.request('PATCH', `/sso/connections/${c.body.id}`, {
        issuer: 'http://169.254.169.254/latest',
        clientSecret: SECRET,
      });
      expect(moved.status).toBe(400);
      expect(moved.body.code).toBe('sso_address_not_allowed');
      const renamed = await t.request('PATCH', `/sso/connections/${c.body.id}`, {
        name: 'Renamed',
      });
      expect(renamed.status).toBe(200);
    });
  });

  describe('a connection saved while private addresses were allowed', () => {
    let api: TestApp | undefined;

    afterEach(async () => {
      await api?.close();
      api = undefined;
    });

    it('is refused at login once they are not, without a request reaching the address', async () => {
      // Saved by an operator who allowed private addresses...
      api = await startApp({
        SSO_ALLOW_HTTP_ISSUERS: 'true',
        SSO_ALLOW_PRIVATE_ADDRESSES: 'true',
        AUTH_LOGIN_PER_MINUTE: '0',
      });
      const t = await api.createTenant('ssrf-later');
      const o = await t.request('POST', '/sso/connections', oidc(idp.url));
      expect(o.status).toBe(201);
      const l = await t.request('POST', '/sso/connections', ldap(`ldap://127.0.0.1:${dir.port}`));
      expect(l.status).toBe(201);
      // ...where a login does reach the IdP (it answers 404, so the login fails as unavailable).
      const reached = await fetch(loginUrl(api, t.slug, o.body.id), {
        redirect: 'manual',
      });
      expect(reached.status).toBe(503);
      expect(idp.hits()).toBeGreaterThan(0);
      await api.close();

      // ...then the setting is turned off: the same database, a new process.
      api = await startApp({ SSO_ALLOW_HTTP_ISSUERS: 'true', AUTH_LOGIN_PER_MINUTE: '0' });
      const idpBefore = idp.hits();
      const dirBefore = dir.hits();
      const start = await fetch(loginUrl(api, t.slug, o.body.id), { redirect: 'manual' });
      expect(start.status).toBe(503);
      const startBody = (await start.json()) as { code: string; detail: string };
      expect(startBody.code).toBe('sso_provider_unavailable');
      expect(startBody.detail).toContain('not allowed');

      const ldapLogin = await api.request('POST', `/v1/auth/${t.slug}/${l.body.id}/login`, {
        body: { username: 'alice', password: 'alice-password' },
      });
      expect(ldapLogin.status).toBe(503);
      expect(ldapLogin.body.code).toBe('ldap_directory_unavailable');
      expect(ldapLogin.body.detail).toContain('not allowed');

      expect(idp.hits()).toBe(idpBefore);
      expect(dir.hits()).toBe(dirBefore);

      const events = await api.request('GET', '/v1/security-events?type=auth.login_failed', {
        token: t.adminKey,
      });
      const reasons = (events.body.items as Array<{ data: { reason: string; method: string } }>)
        .map((e) => `${e.data.method}:${e.data.reason}`)
        .sort();
      expect(reasons).toEqual(['ldap:address_not_allowed', 'oidc:address_not_allowed']);

      // The admin can still turn the connection off.
      const off = await api.request('PATCH', `/v1/sso/connections/${o.body.id}`, {
        token: t.adminKey,
        body: { enabled: false },
      });
      expect(off.status).toBe(200);
    });

    it('opens only the listed CIDRs with SSO_ALLOWED_PRIVATE_CIDRS', async () => {
      api = await startApp({
        SSO_ALLOW_HTTP_ISSUERS: 'true',
        SSO_ALLOWED_PRIVATE_CIDRS: '127.0.0.1/32',
        AUTH_LOGIN_PER_MINUTE: '0',
      });
      const t = await api.createTenant('ssrf-cidr');
      const inside = await t.request('POST', '/sso/connections', oidc(idp.url));
      expect(inside.status).toBe(201);
      const before = idp.hits();
      await fetch(loginUrl(api, t.slug, inside.body.id), {
        redirect: 'manual',
      });
      expect(idp.hits()).toBeGreaterThan(before);
      const outside = await t.request('POST', '/sso/connections', oidc('http://127.0.0.2:8080'));
      expect(outside.status).toBe(400);
      expect(outside.body.code).toBe('sso_address_not_allowed');
    });
  });
});
