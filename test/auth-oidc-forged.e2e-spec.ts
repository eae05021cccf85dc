import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { freePort } from './support/free-port';
import { startSsoApp, TestApp, TestTenant } from './support/harness';
import { CookieJar } from './support/oidc-idp';

const CONSOLE = 'https://console.acme.example/after-login';

type Mode =
  | 'good'
  | 'wrong-audience'
  | 'expired'
  | 'alg-none'
  | 'other-issuer'
  | 'wrong-nonce'
  | 'foreign-key'
  | 'hs256';

/**
 * A hostile OpenID Provider: it speaks the protocol (discovery, authorize, token, userinfo, JWKS) but
 * hands out the ID token the test asks for, so the client's own checks are what is under test.
 */
class ForgingIdp {
  mode: Mode = 'good';
  private nonce = '';
  private constructor(
    readonly issuer: string,
    private readonly server: Server,
  ) {}

  static async start(): Promise<ForgingIdp> {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const foreign = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const server = createServer();
    const idp = new ForgingIdp(issuer, server);
    server.on('request', (req, res) => {
      void (async () => {
        const url = new URL(req.url ?? '/', issuer);
        const json = (body: unknown) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (url.pathname === '/.well-known/openid-configuration') {
          return json({
            issuer,
            authorization_endpoint: `${issuer}/authorize`,
            token_endpoint: `${issuer}/token`,
            userinfo_endpoint: `${issuer}/userinfo`,
            jwks_uri: `${issuer}/jwks`,
            response_types_supported: ['code'],
            subject_types_supported: ['public'],
            id_token_signing_alg_values_supported: ['RS256'],
            code_challenge_methods_supported: ['S256'],
          });
        }
        if (url.pathname === '/jwks') return json({ keys: [jwk] });
        if (url.pathname === '/authorize') {
          idp.nonce = url.searchParams.get('nonce') ?? '';
          const back = new URL(url.searchParams.get('redirect_uri')!);
          back.searchParams.set('code', 'the-code');
          back.searchParams.set('state', url.searchParams.get('state') ?? '');
          res.writeHead(302, { location: back.href });
          return res.end();
        }
        if (url.pathname === '/userinfo') {
          return json({ sub: 'user-1', email: 'forged@corp.example', groups: ['admins'] });
        }
        if (url.pathname === '/token') {
          const now = Math.floor(Date.now() / 1000);
          const claims = {
            sub: 'user-1',
            email: 'forged@corp.example',
            nonce: idp.mode === 'wrong-nonce' ? 'not-the-nonce' : idp.nonce,
          };
          const jwt = (key = privateKey, alg = 'RS256') =>
            new SignJWT(claims)
              .setProtectedHeader({ alg, kid: 'k1' })
              .setIssuer(idp.mode === 'other-issuer' ? 'https://other-idp.example' : issuer)
              .setAudience(idp.mode === 'wrong-audience' ? 'some-other-client' : 'quiver')
              .setIssuedAt(idp.mode === 'expired' ? now - 7200 : now)
              .setExpirationTime(idp.mode === 'expired' ? now - 3600 : now + 300)
              .sign(key);
          let idToken: string;
          if (idp.mode === 'alg-none') {
            const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
            idToken = `${b64({ alg: 'none' })}.${b64({ ...claims, iss: issuer, aud: 'quiver', iat: now, exp: now + 300 })}.`;
          } else if (idp.mode === 'hs256') {
            idToken = await jwt(new TextEncoder().encode('x'.repeat(32)) as never, 'HS256');
          } else {
            idToken = await jwt(idp.mode === 'foreign-key' ? foreign.privateKey : privateKey);
          }
          return json({
            access_token: 'at',
            token_type: 'Bearer',
            expires_in: 300,
            id_token: idToken,
          });
        }
        res.writeHead(404);
        res.end();
      })();
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return idp;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('SSO with OpenID Connect: forged ID tokens are refused', () => {
  let api: TestApp;
  let idp: ForgingIdp;
  let t: TestTenant;
  let loginUrl: string;
  let callbackUrl: string;

  beforeAll(async () => {
    api = await startSsoApp();
    idp = await ForgingIdp.start();
    t = await api.createTenant('ssoforge');
    const c = await t.request('POST', '/sso/connections', {
      kind: 'oidc',
      name: 'hostile',
      issuer: idp.issuer,
      clientId: 'quiver',
      clientSecret: 'secret',
      redirectUris: [CONSOLE],
      defaultRole: 'viewer',
    });
    expect(c.status).toBe(201);
    loginUrl = `${c.body.loginUrl}?redirect=${encodeURIComponent(CONSOLE)}`;
    callbackUrl = c.body.callbackUrl;
  });
  afterAll(async () => {
    await api.close();
    await idp.close();
  });

  async function login(mode: Mode): Promise<number> {
    idp.mode = mode;
    const jar = new CookieJar();
    const start = await fetch(loginUrl, { redirect: 'manual' });
    jar.store(loginUrl, start);
    const authorize = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    const back = authorize.headers.get('location')!;
    expect(back.startsWith(callbackUrl)).toBe(true);
    const done = await fetch(back, { redirect: 'manual', headers: { cookie: jar.header(back) } });
    return done.status;
  }

  it('accepts a well-formed token (the harness works)', async () => {
    expect(await login('good')).toBe(302);
  });

  it.each<Mode>([
    'wrong-audience',
    'expired',
    'alg-none',
    'other-issuer',
    'wrong-nonce',
    'foreign-key',
    'hs256',
  ])('refuses an ID token: %s', async (mode) => {
    expect(await login(mode)).toBe(401);
  });
});
