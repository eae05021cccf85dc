import { generateKeyPair, SignJWT, createLocalJWKSet, jwtVerify, decodeJwt } from 'jose';
import { SigningKeysService } from '@app/auth/signing-keys.service';
import { AUDIENCE } from '@app/auth/sessions.service';
import { ownerClient, startApp, TestApp, TestTenant } from './support/harness';

const PASSWORD = 'correct horse battery staple';

describe('people: users, roles and local sessions (e2e)', () => {
  let api: TestApp;

  beforeAll(async () => {
    api = await startApp({ AUTH_LOGIN_PER_MINUTE: '0', AUTH_REFRESH_PER_MINUTE: '0' });
  });
  afterAll(() => api.close());

  async function tenantWithOwner(prefix: string) {
    const t = await api.createTenant(prefix);
    const owner = await api.admin('POST', `/tenants/${t.id}/users`, {
      email: `Owner@${t.slug}.example`,
      role: 'owner',
      password: PASSWORD,
    });
    expect(owner.status).toBe(201);
    return { t, ownerId: owner.body.id as string, ownerEmail: `owner@${t.slug}.example` };
  }

  const login = (t: TestTenant, email: string, password: string) =>
    api.request('POST', `/v1/auth/${t.slug}/login`, { body: { email, password } });
  const refresh = (t: TestTenant, refreshToken: string) =>
    api.request('POST', `/v1/auth/${t.slug}/token/refresh`, { body: { refreshToken } });
  const as = (token: string, method: string, path: string, body?: unknown) =>
    api.request(method, `/v1${path}`, { token, body });

  async function events(t: TestTenant, type: string) {
    const r = await t.request('GET', `/security-events?type=${type}`);
    expect(r.status).toBe(200);
    return r.body.items as Array<{ type: string; data: Record<string, unknown> }>;
  }

  async function userWithRole(t: TestTenant, role: string) {
    const email = `${role}-${Math.random().toString(36).slice(2, 8)}@${t.slug}.example`;
    const u = await t.request('POST', '/users', { email, role, password: PASSWORD });
    expect(u.status).toBe(201);
    const l = await login(t, email, PASSWORD);
    expect(l.status).toBe(200);
    return {
      id: u.body.id as string,
      email,
      token: l.body.accessToken as string,
      refresh: l.body.refreshToken as string,
    };
  }

  it('logs an owner in with a signed ES256 access token that the JWKS verifies, and the token works', async () => {
    const { t, ownerId, ownerEmail } = await tenantWithOwner('auth');
    const r = await login(t, ownerEmail.toUpperCase(), PASSWORD);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    expect(r.body.refreshToken).toMatch(/^qvu_live_/);
    // An independent check of the token against the published keys.
    const jwks = await api.request('GET', '/v1/auth/jwks');
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys.every((k: { d?: string }) => k.d === undefined)).toBe(true);
    const { payload, protectedHeader } = await jwtVerify(
      r.body.accessToken,
      createLocalJWKSet(jwks.body),
      { issuer: 'quiver', audience: AUDIENCE },
    );
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({ sub: ownerId, tid: t.id, role: 'owner' });
    const me = await as(r.body.accessToken, 'GET', '/whoami');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ kind: 'user', userId: ownerId, role: 'owner', tenantId: t.id });
    expect((await as(r.body.accessToken, 'GET', '/collections')).status).toBe(200);
    expect((await events(t, 'auth.login_succeeded'))[0].data).toMatchObject({
      userId: ownerId,
      method: 'local',
      outcome: 'success',
      ip: '127.0.0.1',
    });
  });

  it('refuses wrong, blank and unknown credentials alike, and records each failure with its reason', async () => {
    const { t, ownerEmail } = await tenantWithOwner('authbad');
    const sso = await t.request('POST', '/users', {
      email: `sso@${t.slug}.example`,
      role: 'viewer',
    });
    expect(sso.status).toBe(201);
    const attempts: Array<[string, string, string]> = [
      [ownerEmail, 'wrong password here', 'wrong_password'],
      [ownerEmail, '', 'blank_password'],
      [ownerEmail, '            ', 'blank_password'],
      [`nobody@${t.slug}.example`, PASSWORD, 'unknown_user'],
      [`sso@${t.slug}.example`, PASSWORD, 'no_local_password'],
    ];
    for (const [email, password] of attempts) {
      const r = await login(t, email, password);
      expect({ email, password, status: r.status, code: r.body.code }).toEqual({
        email,
        password,
        status: 401,
        code: 'invalid_credentials',
      });
      expect(r.body.accessToken).toBeUndefined();
    }
    const failed = await events(t, 'auth.login_failed');
    expect(failed.map((e) => e.data.reason).reverse()).toEqual(attempts.map((a) => a[2]));
    expect(failed[0].data).toMatchObject({ method: 'local', outcome: 'failure', ip: '127.0.0.1' });
    // A tenant that does not exist answers the same.
    expect(
      (
        await api.request('POST', '/v1/auth/no-such-tenant-x/login', {
          body: { email: ownerEmail, password: PASSWORD },
        })
      ).body.code,
    ).toBe('invalid_credentials');
    // Malformed bodies are 400s, not 500s.
    for (const body of [
      {},
      { email: ownerEmail },
      { email: 5, password: PASSWORD },
      { email: ownerEmail, password: 'x'.repeat(2000) },
    ]) {
      expect((await api.request('POST', `/v1/auth/${t.slug}/login`, { body })).status).toBe(400);
    }
  });

  it('rotates refresh tokens; a reused one revokes the whole login, access tokens included', async () => {
    const { t, ownerEmail } = await tenantWithOwner('authrt');
    const first = await login(t, ownerEmail, PASSWORD);
    const second = await refresh(t, first.body.refreshToken);
    expect(second.status).toBe(200);
    expect(second.body.refreshToken).not.toBe(first.body.refreshToken);
    expect((await as(second.body.accessToken, 'GET', '/whoami')).status).toBe(200);
    // The first token again: an attacker's replay, or a leaked copy.
    const reused = await refresh(t, first.body.refreshToken);
    expect(reused.status).toBe(401);
    expect(reused.body.code).toBe('refresh_token_reused');
    // Every token of that login is dead now, the legitimate successor too.
    expect((await refresh(t, second.body.refreshToken)).body.code).toBe('invalid_refresh_token');
    const after = await as(second.body.accessToken, 'GET', '/whoami');
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('session_ended');
    expect((await events(t, 'auth.refresh_reused')).length).toBe(1);
    // Another login of the same user is untouched.
    const other = await login(t, ownerEmail, PASSWORD);
    expect((await as(other.body.accessToken, 'GET', '/whoami')).status).toBe(200);
    // Garbage, and a well-formed token of another tenant, are refused.
    for (const bad of ['', 'qvu_live_x', 'eyJhbGciOi', first.body.accessToken]) {
      expect((await refresh(t, bad)).status).toBeGreaterThanOrEqual(400);
    }
    const elsewhere = await tenantWithOwner('authrt2');
    const foreign = await login(elsewhere.t, elsewhere.ownerEmail, PASSWORD);
    expect((await refresh(t, foreign.body.refreshToken)).body.code).toBe('invalid_refresh_token');
  });

  it('logs out: the refresh token and the access token stop working', async () => {
    const { t, ownerEmail } = await tenantWithOwner('authout');
    const s = await login(t, ownerEmail, PASSWORD);
    const out = await api.request('POST', `/v1/auth/${t.slug}/logout`, {
      body: { refreshToken: s.body.refreshToken },
    });
    expect(out.status).toBe(204);
    expect((await refresh(t, s.body.refreshToken)).status).toBe(401);
    expect((await as(s.body.accessToken, 'GET', '/whoami')).body.code).toBe('session_ended');
    expect((await events(t, 'auth.logout')).length).toBe(1);
  });

  it('maps roles to permissions: a viewer cannot create keys, an auditor reads security events and changes nothing', async () => {
    const { t } = await tenantWithOwner('authroles');
    await t.collection('docs', 2);
    const viewer = await userWithRole(t, 'viewer');
    const developer = await userWithRole(t, 'developer');
    const auditor = await userWithRole(t, 'auditor');
    const admin = await userWithRole(t, 'admin');

    const mintKey = (token: string) =>
      as(token, 'POST', '/keys', { name: 'k', scopes: ['vectors:read'] });
    expect((await mintKey(viewer.token)).status).toBe(403);
    expect((await mintKey(viewer.token)).body.code).toBe('insufficient_scope');
    expect((await mintKey(developer.token)).status).toBe(403);
    expect((await mintKey(auditor.token)).status).toBe(403);
    expect((await mintKey(admin.token)).status).toBe(201);

    const search = (token: string) =>
      as(token, 'POST', '/collections/docs/search', { vector: [1, 0], topK: 1 });
    const upsert = (token: string) =>
      as(token, 'POST', '/collections/docs/vectors', { vectors: [{ id: 'a', values: [1, 0] }] });
    expect((await search(viewer.token)).status).toBe(200);
    expect((await upsert(viewer.token)).status).toBe(403);
    expect((await upsert(developer.token)).status).toBe(200);
    expect((await search(auditor.token)).status).toBe(403);

    expect((await as(auditor.token, 'GET', '/security-events')).status).toBe(200);
    expect((await as(auditor.token, 'GET', '/usage')).status).toBe(200);
    expect((await as(auditor.token, 'GET', '/quotas')).status).toBe(200);
    expect((await as(viewer.token, 'GET', '/usage')).status).toBe(403);
    expect((await as(viewer.token, 'GET', '/security-events')).status).toBe(403);
    for (const [method, path, body] of [
      ['POST', '/users', { email: 'x@y.example', role: 'viewer' }],
      ['POST', '/collections', { name: 'c2', dimension: 2 }],
      ['PUT', '/auth-settings', { localLogin: false }],
      ['DELETE', `/users/${viewer.id}`, undefined],
    ] as const) {
      expect({
        method,
        path,
        status: (await as(auditor.token, method, path, body)).status,
      }).toEqual({ method, path, status: 403 });
    }
  });

  it("ends a user's sessions when the role drops, when disabled and when removed", async () => {
    const { t } = await tenantWithOwner('authend');
    const dev = await userWithRole(t, 'developer');
    expect((await as(dev.token, 'GET', '/whoami')).status).toBe(200);
    const demoted = await t.request('PATCH', `/users/${dev.id}`, { role: 'viewer' });
    expect(demoted.status).toBe(200);
    expect((await as(dev.token, 'GET', '/whoami')).body.code).toBe('session_ended');
    expect((await refresh(t, dev.refresh)).status).toBe(401);

    // A new login carries the new role.
    const again = await login(t, dev.email, PASSWORD);
    expect((await as(again.body.accessToken, 'GET', '/whoami')).body.role).toBe('viewer');
    // A raise keeps the session (and the raised role applies at once).
    expect((await t.request('PATCH', `/users/${dev.id}`, { role: 'developer' })).status).toBe(200);
    expect((await as(again.body.accessToken, 'GET', '/whoami')).body.role).toBe('developer');

    expect((await t.request('PATCH', `/users/${dev.id}`, { status: 'disabled' })).status).toBe(200);
    expect((await as(again.body.accessToken, 'GET', '/whoami')).status).toBe(401);
    expect((await login(t, dev.email, PASSWORD)).status).toBe(401);

    const gone = await userWithRole(t, 'viewer');
    expect((await t.request('DELETE', `/users/${gone.id}`)).status).toBe(204);
    expect((await as(gone.token, 'GET', '/whoami')).body.code).toBe('session_ended');
  });

  it('keeps roles in order: admins cannot make owners, the last owner stays', async () => {
    const { t, ownerId, ownerEmail } = await tenantWithOwner('authrank');
    const admin = await userWithRole(t, 'admin');
    const r = await as(admin.token, 'POST', '/users', {
      email: `o2@${t.slug}.example`,
      role: 'owner',
    });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('role_not_assignable');
    expect((await as(admin.token, 'PATCH', `/users/${ownerId}`, { role: 'viewer' })).status).toBe(
      403,
    );
    expect((await as(admin.token, 'DELETE', `/users/${ownerId}`)).status).toBe(403);
    const owner = await login(t, ownerEmail, PASSWORD);
    const last = await as(owner.body.accessToken, 'PATCH', `/users/${ownerId}`, { role: 'admin' });
    expect(last.status).toBe(409);
    expect(last.body.code).toBe('last_owner');
    expect((await as(owner.body.accessToken, 'DELETE', `/users/${ownerId}`)).body.code).toBe(
      'last_owner',
    );
    const dup = await t.request('POST', '/users', {
      email: ownerEmail.toUpperCase(),
      role: 'viewer',
    });
    expect(dup.status).toBe(409);
    const weak = await t.request('POST', '/users', {
      email: `w@${t.slug}.example`,
      role: 'viewer',
      password: 'short',
    });
    expect(weak.status).toBe(400);
    const badRole = await t.request('POST', '/users', {
      email: `b@${t.slug}.example`,
      role: 'superuser',
    });
    expect(badRole.status).toBe(400);
  });

  it('lets the tenant turn local login off, and records the refused attempts', async () => {
    const { t, ownerEmail } = await tenantWithOwner('authoff');
    const session = await login(t, ownerEmail, PASSWORD);
    expect(
      (await as(session.body.accessToken, 'PUT', '/auth-settings', { localLogin: false })).status,
    ).toBe(200);
    const r = await login(t, ownerEmail, PASSWORD);
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('local_login_disabled');
    expect((await events(t, 'auth.login_failed'))[0].data.reason).toBe('local_login_disabled');
    expect((await t.request('GET', '/auth-settings')).body).toEqual({ localLogin: false });
    expect((await t.request('PUT', '/auth-settings', { localLogin: 'no' })).status).toBe(400);
  });

  it('refuses forged, tampered, foreign and expired access tokens', async () => {
    const { t, ownerId, ownerEmail } = await tenantWithOwner('authjwt');
    const good = (await login(t, ownerEmail, PASSWORD)).body.accessToken as string;
    const claims = decodeJwt(good);
    const [h, p, sig] = good.split('.');
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const kid = JSON.parse(Buffer.from(h, 'base64url').toString()).kid;
    const other = await generateKeyPair('ES256');
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .sign(other.privateKey);
    const keys = api.app.get(SigningKeysService);
    const expired = await keys.sign(
      { ...claims, exp: undefined, iat: undefined },
      -60,
      'quiver',
      AUDIENCE,
    );
    const wrongIssuer = await keys.sign(
      { ...claims, exp: undefined, iat: undefined },
      60,
      'evil',
      AUDIENCE,
    );
    const wrongAudience = await keys.sign(
      { ...claims, exp: undefined, iat: undefined },
      60,
      'quiver',
      'other',
    );
    const cases: Record<string, string> = {
      'alg none': `${b64({ alg: 'none', typ: 'at+jwt' })}.${p}.`,
      'HS256 with the public key': `${b64({ alg: 'HS256', kid, typ: 'at+jwt' })}.${p}.${sig}`,
      'payload changed after signing': `${h}.${b64({ ...claims, role: 'owner', sub: ownerId, tid: '00000000-0000-4000-8000-000000000000' })}.${sig}`,
      'signed by another key under our kid': forged,
      expired,
      'wrong issuer': wrongIssuer,
      'wrong audience': wrongAudience,
    };
    for (const [name, token] of Object.entries(cases)) {
      const r = await as(token, 'GET', '/whoami');
      expect({ name, status: r.status }).toEqual({ name, status: 401 });
    }
    expect((await as(good, 'GET', '/whoami')).status).toBe(200);
  });

  it('rotates signing keys: old tokens verify until their key is retired, new ones use the new key', async () => {
    const { t, ownerEmail } = await tenantWithOwner('authrot');
    const before = (await login(t, ownerEmail, PASSWORD)).body.accessToken as string;
    const keys = api.app.get(SigningKeysService);
    const oldKid = JSON.parse(Buffer.from(before.split('.')[0], 'base64url').toString()).kid;
    const newKid = await keys.rotate();
    const after = (await login(t, ownerEmail, PASSWORD)).body.accessToken as string;
    expect(JSON.parse(Buffer.from(after.split('.')[0], 'base64url').toString()).kid).toBe(newKid);
    const jwks = (await api.request('GET', '/v1/auth/jwks')).body.keys.map(
      (k: { kid: string }) => k.kid,
    );
    expect(jwks).toEqual(expect.arrayContaining([oldKid, newKid]));
    expect((await as(before, 'GET', '/whoami')).status).toBe(200);
    expect(await keys.retire(oldKid)).toBe(true);
    expect((await as(before, 'GET', '/whoami')).status).toBe(401);
    expect((await as(after, 'GET', '/whoami')).status).toBe(200);
    // The newest key cannot be retired (something must sign).
    expect(await keys.retire(newKid)).toBe(false);
  });

  it('stores users and refresh tokens under row-level security, refresh tokens and passwords only hashed', async () => {
    const { t, ownerEmail } = await tenantWithOwner('authrls');
    const s = await login(t, ownerEmail, PASSWORD);
    const c = await ownerClient();
    try {
      const hashes = await c.query(`SELECT token_hash FROM refresh_tokens`);
      expect(hashes.rows).toEqual([]); // no tenant set: RLS shows nothing
      await c.query(`SELECT set_config('app.tenant_id', $1, false)`, [t.id]);
      const rows = await c.query(`SELECT encode(token_hash, 'hex') AS h FROM refresh_tokens`);
      expect(rows.rows.length).toBe(1);
      expect(rows.rows[0].h).not.toContain(s.body.refreshToken);
      const users = await c.query(`SELECT password_hash FROM users`);
      expect(users.rows[0].password_hash).toMatch(/^scrypt\$/);
      expect(users.rows[0].password_hash).not.toContain(PASSWORD);
    } finally {
      await c.end();
    }
  });
});

describe('login rate limit per client address (e2e)', () => {
  it('refuses the 11th login attempt from one address within a minute', async () => {
    const api = await startApp({ QUEUE_PREFIX: `{quiver-login-${process.pid}-${Date.now()}}` });
    try {
      const t = await api.createTenant('authrl');
      const codes: number[] = [];
      for (let i = 0; i < 12; i++) {
        const r = await api.request('POST', `/v1/auth/${t.slug}/login`, {
          body: { email: 'x@y.example', password: 'wrong password!' },
        });
        codes.push(r.status);
      }
      expect(codes.slice(0, 10)).toEqual(Array(10).fill(401));
      expect(codes.slice(10)).toEqual([429, 429]);
    } finally {
      await api.close();
    }
  });
});
