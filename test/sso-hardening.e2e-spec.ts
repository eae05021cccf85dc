import { freePort } from './support/free-port';
import { startSsoApp, TestApp, TestTenant } from './support/harness';
import { browseToCallback, CookieJar, TestIdp } from './support/oidc-idp';

const CONSOLE = 'https://console.acme.example/after-login';
const CLIENT = { clientId: 'quiver-console', clientSecret: 'idp-client-secret-1' };
const PASSWORD = 'correct horse battery staple';

/**
 * What a tenant admin, or an identity provider, must not be able to do through SSO connections:
 * hand out roles the admin could not give by hand, redirect a stored secret elsewhere, take over a
 * user another connection provisioned, demote the last owner, or leave traces of a refused login.
 */
describe('SSO connections: privilege and account-takeover guards', () => {
  let api: TestApp;
  let idp: TestIdp;

  beforeAll(async () => {
    api = await startSsoApp({ AUTH_REFRESH_PER_MINUTE: '0' });
    idp = await TestIdp.listen();
  });

  afterAll(async () => {
    await api.close();
    await idp.close();
  });

  async function tenantWithUser(prefix: string, role: string) {
    const t = await api.createTenant(prefix);
    const email = `${role}@${t.slug}.example`;
    const u = await api.admin('POST', `/tenants/${t.id}/users`, {
      email,
      role,
      password: PASSWORD,
    });
    expect(u.status).toBe(201);
    const l = await api.request('POST', `/v1/auth/${t.slug}/login`, {
      body: { email, password: PASSWORD },
    });
    expect(l.status).toBe(200);
    return { t, userId: u.body.id as string, email, token: l.body.accessToken as string };
  }

  const oidcBody = (extra: Record<string, unknown> = {}) => ({
    kind: 'oidc',
    name: 'Corp IdP',
    issuer: idp.issuer,
    clientId: CLIENT.clientId,
    clientSecret: CLIENT.clientSecret,
    redirectUris: [CONSOLE],
    roleMapping: [{ group: 'engineers', role: 'developer' }],
    defaultRole: null,
    ...extra,
  });

  async function connect(t: TestTenant, extra: Record<string, unknown> = {}) {
    const c = await t.request('POST', '/sso/connections', oidcBody(extra));
    expect(c.status).toBe(201);
    idp.configure({ ...CLIENT, redirectUris: [c.body.callbackUrl] });
    return c.body as { id: string; loginUrl: string; callbackUrl: string };
  }

  /** A whole browser login through the connection; returns Quiver's answer to the callback. */
  async function login(connection: { loginUrl: string; callbackUrl: string }, account: string) {
    const jar = new CookieJar();
    const url = `${connection.loginUrl}?redirect=${encodeURIComponent(CONSOLE)}`;
    const res = await fetch(url, { redirect: 'manual' });
    jar.store(url, res);
    const back = await browseToCallback(
      res.headers.get('location')!,
      account,
      connection.callbackUrl,
      jar,
    );
    const done = await fetch(back, { redirect: 'manual', headers: { cookie: jar.header(back) } });
    const text = await done.text();
    return {
      status: done.status,
      body: (text.startsWith('{') ? JSON.parse(text) : {}) as { code?: string },
    };
  }

  it('an admin cannot make a connection hand out the owner role; an owner can', async () => {
    const admin = await tenantWithUser('ssoh-admin', 'admin');
    const asAdmin = (method: string, path: string, body?: unknown) =>
      api.request(method, `/v1${path}`, { token: admin.token, body });
    for (const extra of [
      { defaultRole: 'owner' },
      { roleMapping: [{ group: 'anyone', role: 'owner' }] },
    ]) {
      const r = await asAdmin('POST', '/sso/connections', oidcBody(extra));
      expect(r.status).toBe(403);
      expect(r.body.code).toBe('role_not_assignable');
    }
    const ok = await asAdmin('POST', '/sso/connections', oidcBody({ defaultRole: 'viewer' }));
    expect(ok.status).toBe(201);
    const widen = await asAdmin('PATCH', `/sso/connections/${ok.body.id}`, {
      roleMapping: [{ group: 'anyone', role: 'owner' }],
    });
    expect(widen.status).toBe(403);
    expect(
      (await admin.t.request('GET', `/sso/connections/${ok.body.id}`)).body.roleMapping,
    ).toEqual([{ group: 'engineers', role: 'developer' }]);

    const owner = await tenantWithUser('ssoh-owner', 'owner');
    const byOwner = await api.request('POST', '/v1/sso/connections', {
      token: owner.token,
      body: oidcBody({ defaultRole: 'owner' }),
    });
    expect(byOwner.status).toBe(201);
  });

  it('refuses null for fields that need a value, with a 400 naming them', async () => {
    const t = await api.createTenant('ssoh-null');
    for (const [field, body] of [
      ['issuer', oidcBody({ issuer: null })],
      ['name', oidcBody({ name: null })],
      ['clientId', oidcBody({ clientId: null })],
    ] as const) {
      const r = await t.request('POST', '/sso/connections', body);
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('validation_failed');
      expect(r.body.errors).toContainEqual({ path: field, message: `${field} must not be null` });
    }
  });

  it('keeps a stored secret from being sent to a new issuer unless it is sent again', async () => {
    const t = await api.createTenant('ssoh-secret');
    const c = await connect(t);
    const moved = await t.request('PATCH', `/sso/connections/${c.id}`, {
      issuer: 'https://attacker.example',
    });
    expect(moved.status).toBe(400);
    expect(moved.body.errors[0].path).toBe('clientSecret');
    expect((await t.request('GET', `/sso/connections/${c.id}`)).body.issuer).toBe(idp.issuer);
    // Other changes do not need it; a move with the secret resent does.
    expect((await t.request('PATCH', `/sso/connections/${c.id}`, { name: 'Renamed' })).status).toBe(
      200,
    );
    const resent = await t.request('PATCH', `/sso/connections/${c.id}`, {
      issuer: 'https://idp2.example',
      clientSecret: 'another-secret',
    });
    expect(resent.status).toBe(200);
    expect(resent.body.issuer).toBe('https://idp2.example');
  });

  it('answers 503, not 500, when the provider cannot be discovered', async () => {
    const t = await api.createTenant('ssoh-down');
    const dead = await freePort();
    const c = await t.request(
      'POST',
      '/sso/connections',
      oidcBody({ issuer: `http://127.0.0.1:${dead}` }),
    );
    expect(c.status).toBe(201);
    const r = await fetch(`${c.body.loginUrl}?redirect=${encodeURIComponent(CONSOLE)}`, {
      redirect: 'manual',
    });
    expect(r.status).toBe(503);
    expect(((await r.json()) as { code: string }).code).toBe('sso_provider_unavailable');
  });

  it('never links a verified login to a user another connection provisioned', async () => {
    const t = await api.createTenant('ssoh-link');
    const first = await connect(t, { defaultRole: 'viewer' });
    idp.accounts.set('squatter', {
      email: `victim@ssoh-link.example`,
      email_verified: true,
      groups: [],
    });
    expect((await login(first, 'squatter')).status).toBe(302);
    // A second connection (another provider in real life) vouching for the same email.
    const second = await connect(t, { name: 'Second', defaultRole: 'viewer' });
    idp.accounts.set('victim', {
      email: `victim@ssoh-link.example`,
      email_verified: true,
      groups: [],
    });
    const r = await login(second, 'victim');
    expect(r.status).toBe(401);
    expect(r.body.code).toBe('sso_failed');
    const events = await t.request('GET', '/security-events?type=auth.login_failed');
    expect(JSON.stringify(events.body)).toContain('email_linked_elsewhere');
  });

  it('does not let the provider demote the last owner, and a refused login changes nothing', async () => {
    const { t, userId, email } = await tenantWithUser('ssoh-own', 'owner');
    const c = await connect(t, { roleMapping: [{ group: 'staff', role: 'viewer' }] });
    idp.accounts.set('boss', { email, email_verified: true, groups: ['staff'] });
    const r = await login(c, 'boss');
    expect(r.status).toBe(401);
    const user = await t.request('GET', `/users/${userId}`);
    expect(user.body.role).toBe('owner');
    const events = await t.request('GET', '/security-events?type=auth.login_failed');
    expect(JSON.stringify(events.body)).toContain('last_owner');

    // A disabled user's refused login neither changes its role nor links the identity.
    const dev = await t.request('POST', '/users', {
      email: `dev@${t.slug}.example`,
      role: 'developer',
    });
    expect(dev.status).toBe(201);
    expect((await t.request('PATCH', `/users/${dev.body.id}`, { status: 'disabled' })).status).toBe(
      200,
    );
    idp.accounts.set('dev', {
      email: `dev@${t.slug}.example`,
      email_verified: true,
      groups: ['staff'],
    });
    expect((await login(c, 'dev')).status).toBe(401);
    expect((await t.request('GET', `/users/${dev.body.id}`)).body.role).toBe('developer');
    // Enabled again, the first login links the identity and applies the mapping then.
    await t.request('PATCH', `/users/${dev.body.id}`, { status: 'active' });
    expect((await login(c, 'dev')).status).toBe(302);
    expect((await t.request('GET', `/users/${dev.body.id}`)).body.role).toBe('viewer');
  });
  it('provisions one user when the same new person finishes two logins at once', async () => {
    const t = await api.createTenant('ssoh-race');
    const c = await connect(t, { defaultRole: 'viewer' });
    idp.accounts.set('twin', { email: `twin@${t.slug}.example`, email_verified: true, groups: [] });
    // Two browsers each reach the callback, then both post it back at the same moment.
    const flows = await Promise.all(
      [0, 1].map(async () => {
        const jar = new CookieJar();
        const url = `${c.loginUrl}?redirect=${encodeURIComponent(CONSOLE)}`;
        const res = await fetch(url, { redirect: 'manual' });
        jar.store(url, res);
        const back = await browseToCallback(
          res.headers.get('location')!,
          'twin',
          c.callbackUrl,
          jar,
        );
        return { back, jar };
      }),
    );
    const answers = await Promise.all(
      flows.map(({ back, jar }) =>
        fetch(back, { redirect: 'manual', headers: { cookie: jar.header(back) } }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual([302, 302]);
    const users = await t.request('GET', '/users');
    expect(
      (users.body.items as Array<{ email: string }>).filter((u) => u.email.startsWith('twin@')),
    ).toHaveLength(1);
  });
});
