import { LoginStateStore } from '@app/auth/login-state.store';
import { startSsoApp, TestApp, TestTenant } from './support/harness';
import { browseToCallback, CookieJar, TestIdp } from './support/oidc-idp';

const CONSOLE = 'https://console.acme.example/after-login';
const CLIENT = { clientId: 'quiver-console', clientSecret: 'idp-client-secret-1' };

describe('SSO with OpenID Connect against a real provider (oidc-provider)', () => {
  let api: TestApp;
  let idp: TestIdp;
  let otherIdp: TestIdp;
  let t: TestTenant;
  let connection: { id: string; loginUrl: string; callbackUrl: string };

  beforeAll(async () => {
    api = await startSsoApp({ AUTH_REFRESH_PER_MINUTE: '0' });
    idp = await TestIdp.listen();
    otherIdp = await TestIdp.listen();
    t = await api.createTenant('sso');
    const created = await t.request('POST', '/sso/connections', {
      kind: 'oidc',
      name: 'Corp IdP',
      issuer: idp.issuer,
      clientId: CLIENT.clientId,
      clientSecret: CLIENT.clientSecret,
      redirectUris: [CONSOLE],
      roleMapping: [
        { group: 'quiver-admins', role: 'admin' },
        { group: 'engineers', role: 'developer' },
      ],
      defaultRole: null,
    });
    expect(created.status).toBe(201);
    connection = created.body;
    for (const p of [idp, otherIdp])
      p.configure({ ...CLIENT, redirectUris: [connection.callbackUrl] });
    idp.accounts.set('alice', {
      email: 'alice@corp.example',
      email_verified: true,
      name: 'Alice',
      groups: ['engineers'],
    });
    idp.accounts.set('mallory', { email: 'mallory@corp.example', groups: ['contractors'] });
  });

  afterAll(async () => {
    await api.close();
    await idp.close();
    await otherIdp.close();
  });

  /** Starts a login at Quiver; returns the provider URL and the browser's cookie jar. */
  async function start(redirect = CONSOLE) {
    const jar = new CookieJar();
    const url = `${connection.loginUrl}?redirect=${encodeURIComponent(redirect)}`;
    const res = await fetch(url, { redirect: 'manual' });
    jar.store(url, res);
    return { res, jar, location: res.headers.get('location') };
  }

  async function callback(callbackUrl: string, jar: CookieJar) {
    return fetch(callbackUrl, { redirect: 'manual', headers: { cookie: jar.header(callbackUrl) } });
  }

  async function fullLogin(account: string) {
    const { jar, location } = await start();
    const back = await browseToCallback(location!, account, connection.callbackUrl, jar);
    const done = await callback(back, jar);
    return { done, back, jar };
  }

  async function exchange(redirectedTo: string) {
    const code = new URL(redirectedTo).searchParams.get('code');
    return api.request('POST', `/v1/auth/${t.slug}/token/exchange`, { body: { code } });
  }

  it('never returns the client secret, and gives the exact callback URL to register', async () => {
    const r = await t.request('GET', `/sso/connections/${connection.id}`);
    expect(r.status).toBe(200);
    expect(r.body.clientSecretSet).toBe(true);
    expect(JSON.stringify(r.body)).not.toContain(CLIENT.clientSecret);
    expect(r.body.callbackUrl).toBe(
      `${new URL(connection.loginUrl).origin}/v1/auth/${t.slug}/${connection.id}/callback`,
    );
  });

  it('signs a user in with code + PKCE, provisions it just in time with the mapped role', async () => {
    const { jar, location, res } = await start();
    expect(res.status).toBe(302);
    const authorize = new URL(location!);
    expect(authorize.origin).toBe(idp.issuer);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('redirect_uri')).toBe(connection.callbackUrl);
    expect(authorize.searchParams.get('state')).toBeTruthy();
    expect(authorize.searchParams.get('nonce')).toBeTruthy();
    expect(res.headers.get('set-cookie')).toMatch(
      /quiver_sso=[\w-]+; Path=.*HttpOnly; SameSite=Lax/,
    );

    const back = await browseToCallback(location!, 'alice', connection.callbackUrl, jar);
    expect(new URL(back).searchParams.get('iss')).toBe(idp.issuer);
    const done = await callback(back, jar);
    expect(done.status).toBe(302);
    const target = done.headers.get('location')!;
    expect(target.startsWith(`${CONSOLE}?code=`)).toBe(true);
    const tokens = await exchange(target);
    expect(tokens.status).toBe(200);
    const me = await api.request('GET', '/v1/whoami', { token: tokens.body.accessToken });
    expect(me.body).toMatchObject({ kind: 'user', role: 'developer', tenantId: t.id });
    const users = await t.request('GET', '/users');
    expect(users.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          email: 'alice@corp.example',
          role: 'developer',
          localPassword: false,
        }),
      ]),
    );
    // The code is single use.
    expect((await exchange(target)).body.code).toBe('login_code_invalid');
    // And so is the callback: replaying it finds no login in progress.
    expect((await callback(back, jar)).status).toBe(401);
    const events = await t.request('GET', '/security-events?type=auth.login_succeeded');
    expect(events.body.items[0].data).toMatchObject({ method: 'oidc', connection: connection.id });
  });

  it('follows the groups at every login: a removed group removes the role and ends old sessions', async () => {
    idp.accounts.get('alice')!.groups = ['quiver-admins', 'engineers'];
    const admin = await exchange((await fullLogin('alice')).done.headers.get('location')!);
    const adminToken = admin.body.accessToken as string;
    expect((await api.request('GET', '/v1/whoami', { token: adminToken })).body.role).toBe('admin');
    expect(
      (
        await api.request('POST', '/v1/keys', {
          token: adminToken,
          body: { name: 'k', scopes: ['vectors:read'] },
        })
      ).status,
    ).toBe(201);

    idp.accounts.get('alice')!.groups = ['engineers'];
    const dev = await exchange((await fullLogin('alice')).done.headers.get('location')!);
    expect(
      (await api.request('GET', '/v1/whoami', { token: dev.body.accessToken })).body.role,
    ).toBe('developer');
    // The admin session from before ends: the role was lowered.
    expect((await api.request('GET', '/v1/whoami', { token: adminToken })).status).toBe(401);
    expect(
      (
        await api.request('POST', '/v1/keys', {
          token: dev.body.accessToken,
          body: { name: 'k', scopes: ['vectors:read'] },
        })
      ).status,
    ).toBe(403);
  });

  it('refuses a user none of whose groups maps to a role, and records why', async () => {
    const { done } = await fullLogin('mallory');
    expect(done.status).toBe(403);
    expect(((await done.json()) as { code: string }).code).toBe('sso_no_role');
    const failed = await t.request('GET', '/security-events?type=auth.login_failed');
    expect(failed.body.items[0].data).toMatchObject({ method: 'oidc', reason: 'no_role' });
  });

  it('refuses a wrong state, a callback without the login cookie, and a callback of another browser', async () => {
    const a = await start();
    const backA = await browseToCallback(a.location!, 'alice', connection.callbackUrl, a.jar);
    const wrongState = new URL(backA);
    wrongState.searchParams.set('state', 'forged-state');
    expect((await callback(wrongState.href, a.jar)).status).toBe(401);

    const b = await start();
    const backB = await browseToCallback(b.location!, 'alice', connection.callbackUrl, b.jar);
    expect((await callback(backB, new CookieJar())).status).toBe(401); // no cookie
    const c = await start();
    expect((await callback(backB, c.jar)).status).toBe(401); // c's cookie, b's response
  });

  /** Changes what the server remembers of a login in progress, as a tampered flow would. */
  async function tamperPending(jar: CookieJar, change: (p: Record<string, string>) => void) {
    const loginId = /quiver_sso=([\w-]+)/.exec(jar.header(connection.callbackUrl))![1];
    const store = api.app.get(LoginStateStore);
    const pending = (await store.take<Record<string, string>>(`oidc:${loginId}`))!;
    change(pending);
    await store.put(`oidc:${loginId}`, pending, 60_000);
  }

  it('refuses an ID token whose nonce does not match, and a code redeemed with the wrong PKCE verifier', async () => {
    const n = await start();
    await tamperPending(n.jar, (p) => (p.nonce = 'another-nonce'));
    const backN = await browseToCallback(n.location!, 'alice', connection.callbackUrl, n.jar);
    const rn = await callback(backN, n.jar);
    expect(rn.status).toBe(401);
    expect(((await rn.json()) as { code: string }).code).toBe('sso_failed');

    const v = await start();
    await tamperPending(v.jar, (p) => (p.verifier = 'a'.repeat(43)));
    const backV = await browseToCallback(v.location!, 'alice', connection.callbackUrl, v.jar);
    expect((await callback(backV, v.jar)).status).toBe(401);
  });

  it('refuses a response when the issuer is not the one the login started with (mix-up)', async () => {
    const m = await start();
    const back = await browseToCallback(m.location!, 'alice', connection.callbackUrl, m.jar);
    // Moving the issuer needs the client secret again (a stored secret never follows on its own).
    await t.request('PATCH', `/sso/connections/${connection.id}`, {
      issuer: otherIdp.issuer,
      clientSecret: CLIENT.clientSecret,
    });
    try {
      expect((await callback(back, m.jar)).status).toBe(401);
    } finally {
      await t.request('PATCH', `/sso/connections/${connection.id}`, {
        issuer: idp.issuer,
        clientSecret: CLIENT.clientSecret,
      });
    }
  });

  it('refuses ID tokens signed with another algorithm than the pinned one', async () => {
    await t.request('PATCH', `/sso/connections/${connection.id}`, { idTokenAlg: 'ES256' });
    try {
      const { done } = await fullLogin('alice');
      expect(done.status).toBe(401);
    } finally {
      await t.request('PATCH', `/sso/connections/${connection.id}`, { idTokenAlg: 'RS256' });
    }
  });

  it('matches redirect URIs exactly, and refuses a disabled connection', async () => {
    for (const redirect of [
      `${CONSOLE}/extra`,
      `${CONSOLE}?x=1`,
      'https://console.acme.example.evil.example/after-login',
      'https://evil.example/',
    ]) {
      const r = await start(redirect);
      expect({ redirect, status: r.res.status }).toEqual({ redirect, status: 400 });
    }
    const missing = await fetch(connection.loginUrl, { redirect: 'manual' });
    expect(missing.status).toBe(400);
    await t.request('PATCH', `/sso/connections/${connection.id}`, { enabled: false });
    try {
      expect((await start()).res.status).toBe(403);
    } finally {
      await t.request('PATCH', `/sso/connections/${connection.id}`, { enabled: true });
    }
  });

  it('keeps connections to their tenant, and refuses bad connection settings', async () => {
    const other = await api.createTenant('sso2');
    expect((await other.request('GET', `/sso/connections/${connection.id}`)).status).toBe(404);
    expect(
      (await other.request('PATCH', `/sso/connections/${connection.id}`, { enabled: false }))
        .status,
    ).toBe(404);
    const viaOtherSlug = await fetch(
      `${new URL(connection.loginUrl).origin}/v1/auth/${other.slug}/${connection.id}/login?redirect=${encodeURIComponent(CONSOLE)}`,
      { redirect: 'manual' },
    );
    expect(viaOtherSlug.status).toBe(404);
    for (const body of [
      { kind: 'saml', name: 'x', issuer: idp.issuer, clientId: 'c', redirectUris: [CONSOLE] },
      { kind: 'oidc', name: 'x', issuer: 'not a url', clientId: 'c', redirectUris: [CONSOLE] },
      { kind: 'oidc', name: 'x', issuer: idp.issuer, clientId: 'c', redirectUris: [] },
      {
        kind: 'oidc',
        name: 'x',
        issuer: idp.issuer,
        clientId: 'c',
        redirectUris: [CONSOLE],
        idTokenAlg: 'none',
      },
      {
        kind: 'oidc',
        name: 'x',
        issuer: idp.issuer,
        clientId: 'c',
        redirectUris: [CONSOLE],
        idTokenAlg: 'HS256',
      },
      { kind: 'oidc', name: 'x', issuer: idp.issuer, redirectUris: [CONSOLE] },
      {
        kind: 'oidc',
        name: 'x',
        issuer: idp.issuer,
        clientId: 'c',
        redirectUris: [CONSOLE],
        roleMapping: [{ group: 'g', role: 'root' }],
      },
    ]) {
      const r = await t.request('POST', '/sso/connections', body);
      expect({ body, status: r.status }).toEqual({ body, status: 400 });
    }
  });
});
