import { freePort } from './support/free-port';
import { startApp, TestApp, TestTenant } from './support/harness';
import {
  duplicateSignedInfo,
  encode,
  hmacWithCertificate,
  injectComment,
  NAMEID_EMAIL,
  NAMEID_TRANSIENT,
  stripSignatures,
  tamperNameId,
  TestSamlIdp,
  wrapInExtensions,
  wrapInside,
  wrapSibling,
  type AssertionSpec,
  type SignOptions,
} from './support/saml-idp';

const CONSOLE = 'https://console.acme.example/after-login';
const CONSOLE_2 = 'https://console.acme.example/other-landing';

interface Connection {
  id: string;
  loginUrl: string;
  callbackUrl: string;
  metadataUrl: string;
  spEntityId: string;
  [field: string]: unknown;
}

describe('SSO with SAML 2.0 against a real IdP (samlify)', () => {
  let api: TestApp;
  let second: TestApp;
  let idp: TestSamlIdp;
  let t: TestTenant;
  let connection: Connection;

  beforeAll(async () => {
    const port = await freePort();
    const env = { PUBLIC_URL: `http://127.0.0.1:${port}`, AUTH_LOGIN_PER_MINUTE: '0' };
    api = await startApp({ ...env, AUTH_REFRESH_PER_MINUTE: '0' }, { port });
    // A second instance behind the same public URL, sharing Postgres and Redis; it trusts the
    // loopback as its TLS-terminating proxy.
    second = await startApp({ ...env, TRUSTED_PROXIES: '127.0.0.1/32' });
    idp = new TestSamlIdp();
    t = await api.createTenant('saml');
    const created = await t.request('POST', '/sso/connections', {
      kind: 'saml',
      name: 'Corp SAML',
      idpMetadataXml: idp.metadataXml(),
      redirectUris: [CONSOLE, CONSOLE_2],
      roleMapping: [
        { group: 'quiver-admins', role: 'admin' },
        { group: 'engineers', role: 'developer' },
      ],
      defaultRole: null,
    });
    expect(created.status).toBe(201);
    connection = created.body;
    const metadata = await fetch(connection.metadataUrl);
    expect(metadata.status).toBe(200);
    idp.useSpMetadata(await metadata.text());
  });

  afterAll(async () => {
    await api?.close();
    await second?.close();
  });

  /** Starts a login at Quiver as a browser would; returns the AuthnRequest as the IdP reads it. */
  async function start(redirect = CONSOLE) {
    const res = await fetch(`${connection.loginUrl}?redirect=${encodeURIComponent(redirect)}`, {
      redirect: 'manual',
    });
    const cookie = /quiver_sso=([\w-]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
    const location = res.headers.get('location');
    const request = location ? await idp.parseAuthnRequest(location) : undefined;
    return { res, cookie, request: request! };
  }

  /** The browser posting the IdP's form to the ACS (of `via`, default the first instance). */
  function post(form: Record<string, string>, cookie?: string, via: TestApp = api) {
    const acs = connection.callbackUrl.replace(new URL(connection.callbackUrl).origin, via.baseUrl);
    return fetch(acs, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(cookie ? { cookie: `quiver_sso=${cookie}` } : {}),
      },
      body: new URLSearchParams(form).toString(),
    });
  }

  /** A whole SP-initiated login, with the response shaped by `spec` and `change`. */
  async function login(
    spec: Partial<AssertionSpec> & { nameId: string },
    sign: SignOptions = {},
    change: (xml: string) => string = (x) => x,
  ) {
    const s = await start();
    const xml = await idp.responseXml({ inResponseTo: s.request.id, ...spec }, sign);
    const form = { SAMLResponse: encode(change(xml)), RelayState: s.request.relayState! };
    return { ...s, form, done: await post(form, s.cookie) };
  }

  async function exchange(location: string) {
    const code = new URL(location).searchParams.get('code');
    return api.request('POST', `/v1/auth/${t.slug}/token/exchange`, { body: { code } });
  }

  async function events(type: string, tenant = t) {
    const r = await tenant.request('GET', `/security-events?type=${type}&limit=500`);
    return r.body.items as Array<{ data: Record<string, unknown> }>;
  }

  /** 401 problem+json with `code`, the reason recorded, and no session started meanwhile. */
  async function expectRefused(
    attempt: () => Promise<Response>,
    reason: string,
    code = 'sso_failed',
    status = 401,
  ) {
    const before = (await events('auth.login_succeeded')).length;
    const res = await attempt();
    const text = await res.text();
    expect({ reason, status: res.status }).toEqual({ reason, status });
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = JSON.parse(text) as Record<string, unknown>;
    expect({ reason, code: body.code }).toEqual({ reason, code });
    expect(text).not.toMatch(/\bat .*\.(ts|js):\d+|stack/i);
    expect(res.headers.get('location')).toBeNull();
    const [latest] = await events('auth.login_failed');
    expect(latest.data).toMatchObject({ method: 'saml', connection: connection.id, reason });
    expect((await events('auth.login_succeeded')).length).toBe(before);
  }

  it('serves SP metadata (entity ID, ACS, signed assertions wanted) and shows what to register, no secrets', async () => {
    const res = await fetch(connection.metadataUrl);
    expect(res.headers.get('content-type')).toMatch(/^application\/samlmetadata\+xml/);
    const xml = await res.text();
    expect(xml).toContain(`entityID="${connection.spEntityId}"`);
    expect(xml).toContain(`Location="${connection.callbackUrl}"`);
    expect(xml).toContain('WantAssertionsSigned="true"');
    expect(connection.spEntityId).toBe(connection.metadataUrl);
    expect(connection.callbackUrl).toBe(
      `${new URL(connection.loginUrl).origin}/v1/auth/${t.slug}/${connection.id}/callback`,
    );
    const view = (await t.request('GET', `/sso/connections/${connection.id}`)).body;
    expect(view).toMatchObject({
      kind: 'saml',
      idpEntityId: idp.entityId,
      idpSsoUrl: idp.ssoUrl,
      wantResponseSigned: false,
      allowIdpInitiated: false,
      emailAttribute: 'email',
      groupsAttribute: 'groups',
    });
    expect(view.idpCertificates).toHaveLength(1);
    expect(view).not.toHaveProperty('idpMetadataXml');
    expect(view).not.toHaveProperty('clientSecretSet');
    expect(JSON.stringify(view)).not.toMatch(/PRIVATE KEY/);
  });

  it('with an http PUBLIC_URL, keeps the login cookie SameSite=Lax without Secure, even when a trusted proxy says https', async () => {
    const login = `${second.baseUrl}${new URL(connection.loginUrl).pathname}?redirect=${encodeURIComponent(CONSOLE)}`;
    const forwarded = await fetch(login, {
      redirect: 'manual',
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(forwarded.status).toBe(302);
    // PUBLIC_URL says what browsers use; SameSite=None without Secure would be dropped by them.
    expect(forwarded.headers.get('set-cookie')).toMatch(/; HttpOnly; SameSite=Lax; Max-Age=600$/);
    const plain = await fetch(login, { redirect: 'manual' });
    expect(plain.headers.get('set-cookie')).toMatch(/; HttpOnly; SameSite=Lax; Max-Age=600$/);
  });

  it('signs a user in SP-initiated, provisioned just in time with the role of their groups', async () => {
    const { res, cookie, request } = await start();
    expect(res.status).toBe(302);
    expect(res.headers.get('set-cookie')).toMatch(
      /quiver_sso=[\w-]+; Path=\/v1\/auth\/[^;]+; HttpOnly; SameSite=Lax/,
    );
    expect(request).toMatchObject({
      issuer: connection.spEntityId,
      acsUrl: connection.callbackUrl,
      relayState: cookie,
    });
    const response = await idp.response({
      nameId: 'alice-0001',
      email: 'alice@corp.example',
      displayName: 'Alice Liddell',
      groups: ['engineers'],
      inResponseTo: request.id,
    });
    const done = await post({ SAMLResponse: response, RelayState: request.relayState! }, cookie);
    expect(done.status).toBe(302);
    expect(done.headers.get('set-cookie')).toMatch(/quiver_sso=;.*Max-Age=0/);
    const target = done.headers.get('location')!;
    expect(target.startsWith(`${CONSOLE}?code=`)).toBe(true);
    const tokens = await exchange(target);
    expect(tokens.status).toBe(200);
    const me = await api.request('GET', '/v1/whoami', { token: tokens.body.accessToken });
    expect(me.body).toMatchObject({ kind: 'user', role: 'developer', tenantId: t.id });
    const users = (await t.request('GET', '/users')).body.items;
    expect(users).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          email: 'alice@corp.example',
          displayName: 'Alice Liddell',
          role: 'developer',
          localPassword: false,
        }),
      ]),
    );
    const [ok] = await events('auth.login_succeeded');
    expect(ok.data).toMatchObject({ method: 'saml', connection: connection.id });
  });

  it('follows the groups at every login: a group removed at the IdP lowers the role and ends old sessions', async () => {
    const asAdmin = await login({
      nameId: 'bob-0002',
      email: 'bob@corp.example',
      groups: ['quiver-admins', 'engineers'],
    });
    const admin = await exchange(asAdmin.done.headers.get('location')!);
    const adminToken = admin.body.accessToken as string;
    expect((await api.request('GET', '/v1/whoami', { token: adminToken })).body.role).toBe('admin');

    const asDev = await login({
      nameId: 'bob-0002',
      email: 'bob@corp.example',
      groups: ['engineers'],
    });
    const dev = await exchange(asDev.done.headers.get('location')!);
    expect(
      (await api.request('GET', '/v1/whoami', { token: dev.body.accessToken })).body.role,
    ).toBe('developer');
    expect((await api.request('GET', '/v1/whoami', { token: adminToken })).status).toBe(401);
    const bobs = (await t.request('GET', '/users')).body.items.filter(
      (u: { email: string }) => u.email === 'bob@corp.example',
    );
    expect(bobs).toHaveLength(1);
  });

  it('refuses a user none of whose groups maps to a role', async () => {
    const { done } = await login({ nameId: 'carol-3', groups: ['contractors'] });
    expect(done.status).toBe(403);
    expect(((await done.json()) as { code: string }).code).toBe('sso_no_role');
    const [failed] = await events('auth.login_failed');
    expect(failed.data).toMatchObject({ method: 'saml', reason: 'no_role' });
  });

  describe('refuses, with 401, a recorded reason and no session', () => {
    const alice = { nameId: 'alice-0001', email: 'alice@corp.example', groups: ['quiver-admins'] };

    it('a NameID changed after signing', async () => {
      await expectRefused(
        async () => (await login(alice, {}, (x) => tamperNameId(x, 'root-0000'))).done,
        'invalid_signature',
      );
    });

    it('an unsigned assertion, bare or inside a signed response', async () => {
      await expectRefused(
        async () => (await login(alice, {}, stripSignatures)).done,
        'invalid_signature',
      );
      await expectRefused(
        async () => (await login(alice, { assertion: false, response: true })).done,
        'invalid_signature',
      );
    });

    it.each([
      ['a forged assertion beside the signed one', wrapSibling],
      ['a forged assertion wrapping the signed one', wrapInside],
      [
        'the signed assertion moved into Extensions, a forged one with its ID in its place',
        wrapInExtensions,
      ],
    ])('XML signature wrapping: %s', async (_label, wrap) => {
      await expectRefused(
        async () =>
          (await login({ ...alice, groups: ['engineers'] }, {}, (x) => wrap(x, 'root-0000'))).done,
        'invalid_signature',
      );
    });

    it('a comment injected into the NameID is not a way to shorten it: the whole string is the user', async () => {
      const { done } = await login(
        {
          nameId: 'admin@corp.com.evil.com',
          nameIdFormat: NAMEID_EMAIL,
          email: null,
          groups: ['engineers'],
        },
        {},
        (x) => injectComment(x, 'admin@corp.com'.length),
      );
      expect(done.status).toBe(302);
      const emails = (await t.request('GET', '/users')).body.items.map(
        (u: { email: string }) => u.email,
      );
      expect(emails).toContain('admin@corp.com.evil.com');
      expect(emails).not.toContain('admin@corp.com');
    });

    it('two SignedInfo elements in one signature', async () => {
      await expectRefused(
        async () => (await login(alice, {}, duplicateSignedInfo)).done,
        'invalid_signature',
      );
    });

    it('a response re-signed with a certificate other than the pinned one', async () => {
      await expectRefused(
        async () => (await login(alice, { key: 'other', response: true })).done,
        'invalid_signature',
      );
    });

    it('an HMAC SignatureMethod keyed with the public certificate', async () => {
      await expectRefused(
        async () => (await login(alice, {}, (x) => hmacWithCertificate(x, idp.pinned.cert))).done,
        'invalid_signature',
      );
    });

    it('an expired NotOnOrAfter, beyond the clock skew', async () => {
      await expectRefused(
        async () =>
          (
            await login({
              ...alice,
              issueInstant: new Date(Date.now() - 20 * 60_000),
              notOnOrAfter: new Date(Date.now() - 5 * 60_000),
            })
          ).done,
        'expired',
      );
    });

    it('an assertion for another Audience', async () => {
      await expectRefused(
        async () => (await login({ ...alice, audience: 'https://other-sp.example/metadata' })).done,
        'wrong_audience',
      );
    });

    it('an assertion from another issuer signed with the pinned key', async () => {
      await expectRefused(
        async () => (await login({ ...alice, issuer: 'https://other-idp.example' })).done,
        'wrong_issuer',
      );
    });

    it('a wrong InResponseTo: made up, or answering another login of the same browser', async () => {
      await expectRefused(
        async () => (await login({ ...alice, inResponseTo: '_made-up-request' })).done,
        'in_response_to_invalid',
      );
      const a = await start();
      const b = await start();
      const forB = await idp.response({ ...alice, inResponseTo: b.request.id });
      await expectRefused(
        () => post({ SAMLResponse: forB, RelayState: a.request.relayState! }, a.cookie),
        'in_response_to_invalid',
      );
    });

    it('an SP-initiated assertion whose bearer SubjectConfirmationData has no InResponseTo', async () => {
      // Signed by the IdP as it is: only the subject's InResponseTo is missing, the Response's is right.
      await expectRefused(
        async () => (await login({ ...alice, subjectInResponseTo: null })).done,
        'in_response_to_invalid',
      );
      await expectRefused(
        async () => (await login({ ...alice, subjectInResponseTo: null }, { response: true })).done,
        'in_response_to_invalid',
      );
    });

    it('an SP-initiated assertion whose SubjectConfirmationData names another request', async () => {
      const other = await start();
      await expectRefused(
        async () => (await login({ ...alice, subjectInResponseTo: other.request.id })).done,
        'in_response_to_invalid',
      );
      await expectRefused(
        async () => (await login({ ...alice, subjectInResponseTo: '_made-up-request' })).done,
        'in_response_to_invalid',
      );
    });

    it('a response posted without the login cookie, or with another browser’s', async () => {
      const a = await start();
      const response = await idp.response({ ...alice, inResponseTo: a.request.id });
      await expectRefused(
        () => post({ SAMLResponse: response, RelayState: a.request.relayState! }),
        'login_session_invalid',
        'login_session_invalid',
      );
      const b = await start();
      const c = await start();
      const forB = await idp.response({ ...alice, inResponseTo: b.request.id });
      await expectRefused(
        () => post({ SAMLResponse: forB, RelayState: b.request.relayState! }, c.cookie),
        'login_session_invalid',
        'login_session_invalid',
      );
    });

    it('a replayed response: the same post again, on this instance or another one', async () => {
      const first = await login({ ...alice, groups: ['engineers'] });
      expect(first.done.status).toBe(302);
      for (const via of [api, second]) {
        await expectRefused(
          () => post(first.form, first.cookie, via),
          'login_session_invalid',
          'login_session_invalid',
        );
      }
    });

    it('an IdP-initiated response while the connection does not allow them', async () => {
      const response = await idp.response({ ...alice, inResponseTo: null });
      await expectRefused(
        () => post({ SAMLResponse: response, RelayState: CONSOLE }),
        'idp_initiated_disabled',
      );
    });

    it('a transient NameID (a new person at every login)', async () => {
      await expectRefused(
        async () =>
          (await login({ ...alice, nameId: '_t-81237', nameIdFormat: NAMEID_TRANSIENT })).done,
        'transient_name_id',
      );
    });

    it('a post without a SAMLResponse, or with it twice', async () => {
      const a = await start();
      await expectRefused(
        () => post({ RelayState: a.request.relayState! }, a.cookie),
        'malformed_request',
      );
      await expectRefused(
        () =>
          fetch(connection.callbackUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: 'SAMLResponse=a&SAMLResponse=b',
          }),
        'malformed_request',
      );
    });

    it('a disabled connection (403, recorded)', async () => {
      const a = await start();
      const response = await idp.response({ ...alice, inResponseTo: a.request.id });
      await t.request('PATCH', `/sso/connections/${connection.id}`, { enabled: false });
      try {
        await expectRefused(
          () => post({ SAMLResponse: response, RelayState: a.request.relayState! }, a.cookie),
          'connection_disabled',
          'sso_connection_disabled',
          403,
        );
        expect((await start()).res.status).toBe(403);
      } finally {
        await t.request('PATCH', `/sso/connections/${connection.id}`, { enabled: true });
      }
    });
  });

  describe('IdP-initiated, when the connection allows it', () => {
    beforeAll(async () => {
      const r = await t.request('PATCH', `/sso/connections/${connection.id}`, {
        allowIdpInitiated: true,
      });
      expect(r.body.allowIdpInitiated).toBe(true);
    });
    afterAll(async () => {
      await t.request('PATCH', `/sso/connections/${connection.id}`, { allowIdpInitiated: false });
    });

    const dave = { nameId: 'dave-4', email: 'dave@corp.example', groups: ['engineers'] };

    it('lands on the first redirect URI, or on the RelayState when it is one of them exactly', async () => {
      for (const [relayState, landing] of [
        [undefined, CONSOLE],
        [CONSOLE_2, CONSOLE_2],
        ['https://evil.example/steal', CONSOLE],
        [`${CONSOLE_2}?x=1`, CONSOLE],
      ] as const) {
        const response = await idp.response({ ...dave, inResponseTo: null });
        const done = await post({
          SAMLResponse: response,
          ...(relayState ? { RelayState: relayState } : {}),
        });
        expect({ relayState, status: done.status }).toEqual({ relayState, status: 302 });
        const target = new URL(done.headers.get('location')!);
        expect(`${target.origin}${target.pathname}`).toBe(landing);
        expect((await exchange(target.href)).status).toBe(200);
      }
    });

    it('refuses the same unsolicited assertion twice, also when replayed to another instance', async () => {
      const response = await idp.response({ ...dave, inResponseTo: null });
      expect((await post({ SAMLResponse: response })).status).toBe(302);
      await expectRefused(() => post({ SAMLResponse: response }, undefined, second), 'replayed');
      await expectRefused(() => post({ SAMLResponse: response }), 'replayed');
    });

    it('still refuses an unsolicited response that names a request', async () => {
      const a = await start();
      const solicited = await idp.response({ ...dave, inResponseTo: a.request.id });
      await expectRefused(() => post({ SAMLResponse: solicited }), 'in_response_to_invalid');
    });
  });

  describe('connection settings', () => {
    it('creates a connection from fields, rotates its certificates, and keeps them pinned', async () => {
      const created = await t.request('POST', '/sso/connections', {
        kind: 'saml',
        name: 'By hand',
        idpEntityId: idp.entityId,
        idpSsoUrl: idp.ssoUrl,
        idpCertificates: [idp.pinned.cert],
        wantResponseSigned: true,
        redirectUris: [CONSOLE],
        defaultRole: 'viewer',
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        kind: 'saml',
        idpEntityId: idp.entityId,
        wantResponseSigned: true,
        idpCertificates: [expect.stringMatching(/^-----BEGIN CERTIFICATE-----\n/)],
      });
      const rotated = await t.request('PATCH', `/sso/connections/${created.body.id}`, {
        idpCertificates: [idp.pinned.cert, idp.other.cert],
      });
      expect(rotated.status).toBe(200);
      expect(rotated.body.idpCertificates).toHaveLength(2);
      expect(rotated.body.idpEntityId).toBe(idp.entityId);
    });

    it('accepts a response signed with a certificate added for rollover', async () => {
      await t.request('PATCH', `/sso/connections/${connection.id}`, {
        idpCertificates: [idp.pinned.cert, idp.other.cert],
      });
      try {
        const { done } = await login(
          { nameId: 'erin-5', email: 'erin@corp.example', groups: ['engineers'] },
          { key: 'other' },
        );
        expect(done.status).toBe(302);
      } finally {
        await t.request('PATCH', `/sso/connections/${connection.id}`, {
          idpMetadataXml: idp.metadataXml(),
        });
      }
      await expectRefused(
        async () =>
          (await login({ nameId: 'erin-5', groups: ['engineers'] }, { key: 'other' })).done,
        'invalid_signature',
      );
    });

    it.each([
      ['a DOCTYPE', (xml: string) => `<!DOCTYPE md [<!ENTITY x "y">]>${xml}`, /DOCTYPE/],
      [
        'no signing certificate',
        (xml: string) => xml.replace(/<(\w+:)?KeyDescriptor[\s\S]*?<\/(\w+:)?KeyDescriptor>/g, ''),
        /no signing certificate/,
      ],
      ['garbage', () => 'this is not XML <<<', /not/],
      ['an unrelated XML document', () => '<html><body>hi</body></html>', /not SAML 2.0 metadata/],
    ])('refuses metadata with %s (400 validation_failed)', async (_label, make, message) => {
      const r = await t.request('POST', '/sso/connections', {
        kind: 'saml',
        name: 'Bad',
        idpMetadataXml: make(idp.metadataXml()),
        redirectUris: [CONSOLE],
      });
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('validation_failed');
      expect(r.body.errors[0]).toMatchObject({ path: 'idpMetadataXml' });
      expect(r.body.errors[0].message).toMatch(message);
    });

    it('refuses bad settings', async () => {
      const base = { kind: 'saml', name: 'x', redirectUris: [CONSOLE] };
      for (const body of [
        base, // no IdP at all
        { ...base, idpEntityId: 'e', idpSsoUrl: idp.ssoUrl }, // no certificate
        { ...base, idpEntityId: 'e', idpSsoUrl: idp.ssoUrl, idpCertificates: ['not a cert'] },
        { ...base, idpEntityId: 'e', idpSsoUrl: idp.ssoUrl, idpCertificates: [idp.pinned.key] },
        {
          ...base,
          idpEntityId: 'e',
          idpSsoUrl: 'http://idp.example/sso',
          idpCertificates: [idp.pinned.cert],
        },
        { ...base, idpMetadataXml: idp.metadataXml(), idpEntityId: 'e' }, // both ways at once
        { ...base, idpMetadataXml: idp.metadataXml(), clientId: 'oidc-only' }, // another kind's field
        { ...base, idpMetadataXml: idp.metadataXml(), allowIdpInitiated: 'yes' },
        { kind: 'saml', name: 'x', idpMetadataXml: idp.metadataXml() }, // no redirect URIs
        {
          kind: 'oidc',
          name: 'x',
          issuer: 'https://op.example',
          clientId: 'c',
          redirectUris: [CONSOLE],
          idpEntityId: 'e',
        },
      ]) {
        const r = await t.request('POST', '/sso/connections', body);
        expect({ body, status: r.status, code: r.body.code }).toEqual({
          body,
          status: 400,
          code: 'validation_failed',
        });
      }
    });
  });

  describe('other routes', () => {
    it('keeps the SAML routes to their tenant', async () => {
      const other = await api.createTenant('saml2');
      const swap = (url: string) => url.replace(`/auth/${t.slug}/`, `/auth/${other.slug}/`);
      const login = await fetch(
        `${swap(connection.loginUrl)}?redirect=${encodeURIComponent(CONSOLE)}`,
        {
          redirect: 'manual',
        },
      );
      expect(login.status).toBe(404);
      expect((await fetch(swap(connection.metadataUrl))).status).toBe(404);
      const a = await start();
      const response = await idp.response({
        nameId: 'alice-0001',
        groups: ['engineers'],
        inResponseTo: a.request.id,
      });
      const acs = await fetch(swap(connection.callbackUrl), {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          cookie: `quiver_sso=${a.cookie}`,
        },
        body: new URLSearchParams({
          SAMLResponse: response,
          RelayState: a.request.relayState!,
        }).toString(),
      });
      expect(acs.status).toBe(404);
      expect(((await acs.json()) as { code: string }).code).toBe('sso_connection_not_found');
      expect(await events('auth.login_failed', other)).toEqual([]);
    });

    it('answers an OIDC connection’s metadata and ACS with 404', async () => {
      const oidc = await t.request('POST', '/sso/connections', {
        kind: 'oidc',
        name: 'op',
        issuer: 'https://op.example',
        clientId: 'c',
        redirectUris: [CONSOLE],
      });
      expect(oidc.status).toBe(201);
      const base = `${new URL(connection.loginUrl).origin}/v1/auth/${t.slug}/${oidc.body.id}`;
      expect((await fetch(`${base}/metadata`)).status).toBe(404);
      const acs = await fetch(`${base}/callback`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'SAMLResponse=x',
      });
      expect(acs.status).toBe(404);
    });

    it('still answers a form body anywhere else with 415', async () => {
      for (const [method, path] of [
        ['POST', `/v1/auth/${t.slug}/token/exchange`],
        ['POST', `/v1/auth/${t.slug}/login`],
        ['POST', '/v1/sso/connections'],
      ]) {
        const r = await api.request(method, path, {
          token: t.adminKey,
          rawBody: 'code=x&kind=saml',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        expect({ path, status: r.status, code: r.body.code }).toEqual({
          path,
          status: 415,
          code: 'unsupported_media_type',
        });
      }
    });
  });
});

describe('SAML login cookie behind a TLS-terminating balancer (https PUBLIC_URL, no trusted proxy)', () => {
  const PUBLIC = 'https://quiver.acme.example';
  let api: TestApp;
  let idp: TestSamlIdp;
  let t: TestTenant;
  let path: string;

  beforeAll(async () => {
    api = await startApp({ PUBLIC_URL: PUBLIC, AUTH_LOGIN_PER_MINUTE: '0' });
    idp = new TestSamlIdp();
    t = await api.createTenant('saml-tls');
    const created = await t.request('POST', '/sso/connections', {
      kind: 'saml',
      name: 'Corp SAML',
      idpMetadataXml: idp.metadataXml(),
      redirectUris: [CONSOLE],
      roleMapping: [],
      defaultRole: 'viewer',
    });
    expect(created.status).toBe(201);
    const connection = created.body as Connection;
    expect(connection.loginUrl.startsWith(`${PUBLIC}/`)).toBe(true);
    path = new URL(connection.loginUrl).pathname.replace(/\/login$/, '');
    // The balancer forwards in plain http: reach the app the same way.
    const metadata = await fetch(`${api.baseUrl}${path}/metadata`);
    idp.useSpMetadata(await metadata.text());
  });

  afterAll(async () => {
    await api?.close();
  });

  it('sets SameSite=None; Secure on a plain http request, and clears the cookie with the same attributes', async () => {
    const res = await fetch(`${api.baseUrl}${path}/login?redirect=${encodeURIComponent(CONSOLE)}`, {
      redirect: 'manual',
    });
    expect(res.status).toBe(302);
    const set = res.headers.get('set-cookie') ?? '';
    expect(set).toMatch(
      new RegExp(
        `^quiver_sso=[\\w-]+; Path=${path}; HttpOnly; SameSite=None; Max-Age=600; Secure$`,
      ),
    );
    const cookie = /quiver_sso=([\w-]+)/.exec(set)![1];
    const request = await idp.parseAuthnRequest(res.headers.get('location')!);
    expect(request.acsUrl).toBe(`${PUBLIC}${path}/callback`);
    const response = await idp.response({ nameId: 'tls-0001', inResponseTo: request.id });
    const done = await fetch(`${api.baseUrl}${path}/callback`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: `quiver_sso=${cookie}`,
      },
      body: new URLSearchParams({
        SAMLResponse: response,
        RelayState: request.relayState!,
      }).toString(),
    });
    expect(done.status).toBe(302);
    expect(done.headers.get('set-cookie')).toBe(
      `quiver_sso=; Path=${path}; HttpOnly; SameSite=None; Max-Age=0; Secure`,
    );
  });
});
