import { createServer, type Server } from 'node:http';
import Provider from 'oidc-provider';
import { freePort } from './free-port';

export interface IdpAccount {
  email: string;
  email_verified?: boolean;
  name?: string;
  groups: string[];
}

/**
 * A real OpenID Provider (oidc-provider) on a loopback port, for tests: one confidential client,
 * PKCE required, dev interactions (a login form that takes any account id), accounts from a map
 * the test may change between logins.
 */
export class TestIdp {
  readonly accounts = new Map<string, IdpAccount>();
  private constructor(
    readonly issuer: string,
    private readonly server: Server,
    private provider?: Provider,
  ) {}

  static async listen(): Promise<TestIdp> {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return new TestIdp(`http://127.0.0.1:${port}`, server);
  }

  /** Starts answering, for a client with exactly these redirect URIs. */
  configure(client: { clientId: string; clientSecret: string; redirectUris: string[] }): void {
    const accounts = this.accounts;
    const provider = new Provider(this.issuer, {
      clients: [
        {
          client_id: client.clientId,
          client_secret: client.clientSecret,
          redirect_uris: client.redirectUris,
          response_types: ['code'],
          grant_types: ['authorization_code'],
          id_token_signed_response_alg: 'RS256',
        },
      ],
      findAccount: (_ctx, sub) => {
        const account = accounts.get(sub);
        return account ? { accountId: sub, claims: () => ({ sub, ...account }) } : undefined;
      },
      claims: {
        openid: ['sub'],
        email: ['email', 'email_verified'],
        profile: ['name', 'groups'],
      },
      features: { devInteractions: { enabled: true } },
      pkce: { required: () => true },
      conformIdTokenClaims: false,
      cookies: { keys: ['quiver-test-idp'] },
    });
    this.provider = provider;
    const handler = provider.callback();
    this.server.removeAllListeners('request');
    this.server.on('request', (req, res) => void handler(req, res));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Cookies per origin, enough for a redirect-following browser in tests. */
export class CookieJar {
  private readonly jar = new Map<string, Map<string, string>>();

  header(url: string): string {
    const cookies = this.jar.get(new URL(url).origin);
    return cookies ? [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') : '';
  }

  store(url: string, res: Response): void {
    const origin = new URL(url).origin;
    const cookies = this.jar.get(origin) ?? new Map<string, string>();
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      const value = pair.slice(eq + 1);
      if (value === '' || /max-age=0/i.test(line)) cookies.delete(pair.slice(0, eq));
      else cookies.set(pair.slice(0, eq), value);
    }
    this.jar.set(origin, cookies);
  }
}

/**
 * Walks the browser side of a login at the provider: follows redirects, signs in as `account` on the
 * login form and approves the consent form, and stops at the first redirect back to `stopAt`.
 */
export async function browseToCallback(
  startUrl: string,
  account: string,
  stopAt: string,
  jar: CookieJar,
): Promise<string> {
  let url = startUrl;
  for (let hops = 0; hops < 20; hops++) {
    if (url.startsWith(stopAt)) return url;
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header(url) } });
    jar.store(url, res);
    const location = res.headers.get('location');
    if (location) {
      url = new URL(location, url).href;
      continue;
    }
    const html = await res.text();
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    if (!prompt || res.status !== 200)
      throw new Error(`stuck at ${url}: ${res.status} ${html.slice(0, 200)}`);
    const body = new URLSearchParams({
      prompt,
      ...(prompt === 'login' ? { login: account, password: 'x' } : {}),
    });
    const post = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(url), 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    jar.store(url, post);
    const next = post.headers.get('location');
    if (!next) throw new Error(`no redirect after ${prompt}: ${post.status}`);
    url = new URL(next, url).href;
  }
  throw new Error('too many redirects');
}
