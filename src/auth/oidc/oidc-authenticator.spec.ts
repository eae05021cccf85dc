import * as client from 'openid-client';
import type { AppConfig } from '@app/config/app-config';
import { SsoAddressGuard } from '../sso/sso-address-guard';
import type { SsoConnection } from '../sso/sso-kinds';
import { OidcAuthenticator } from './oidc-authenticator';
import type { OidcConfig } from './oidc-kind';

const ISSUER = 'https://idp.example';
const CALLBACK = 'https://quiver.example/v1/auth/acme/c1/callback';

const connection: SsoConnection<OidcConfig> = {
  tenantId: 't1',
  id: 'c1',
  kind: 'oidc',
  name: 'Corp',
  enabled: true,
  secret: 'client-secret',
  config: {
    issuer: ISSUER,
    clientId: 'quiver',
    idTokenAlg: 'RS256',
    groupsClaim: 'groups',
    redirectUris: [],
    roleMapping: [],
    defaultRole: null,
  },
};

/** An authenticator whose discovery returns fixed metadata (a provider that supports PKCE). */
function setUp() {
  const appConfig = {
    env: {
      SSO_ALLOW_HTTP_ISSUERS: false,
      SSO_ALLOW_PRIVATE_ADDRESSES: false,
      SSO_ALLOWED_PRIVATE_CIDRS: [],
    },
  } as unknown as AppConfig;
  const auth = new OidcAuthenticator(appConfig, new SsoAddressGuard(appConfig));
  const config = new client.Configuration(
    {
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/authorize`,
      token_endpoint: `${ISSUER}/token`,
      code_challenge_methods_supported: ['S256'],
    },
    'quiver',
    { id_token_signed_response_alg: 'RS256' },
    client.ClientSecretBasic('client-secret'),
  );
  const discover = jest
    .spyOn(auth as unknown as { discover: () => Promise<client.Configuration> }, 'discover')
    .mockResolvedValue(config);
  return { auth, discover };
}

describe('OidcAuthenticator (openid-client passport Strategy)', () => {
  it('starts with code + PKCE S256, state and nonce, the exact callback URL, and keeps them', async () => {
    const { auth, discover } = setUp();
    const a = await auth.begin(connection, CALLBACK);
    const url = new URL(a.url);
    expect(url.origin + url.pathname).toBe(`${ISSUER}/authorize`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: 'quiver',
      redirect_uri: CALLBACK,
      scope: 'openid email profile',
      code_challenge_method: 'S256',
      code_challenge: await client.calculatePKCECodeChallenge(a.flow.code_verifier),
      state: a.flow.state,
      nonce: a.flow.nonce,
    });
    expect(a.issuer).toBe(ISSUER);
    const b = await auth.begin(connection, CALLBACK);
    expect(b.flow.state).not.toBe(a.flow.state);
    expect(b.flow.nonce).not.toBe(a.flow.nonce);
    expect(b.flow.code_verifier).not.toBe(a.flow.code_verifier);
    expect(discover).toHaveBeenCalledTimes(1); // one strategy per connection settings
  });

  it('refuses a callback whose provider no longer has the issuer the login started with', async () => {
    const { auth } = setUp();
    const { flow } = await auth.begin(connection, CALLBACK);
    await expect(
      auth.complete(connection, 'https://other.example', flow, CALLBACK, 'code=x'),
    ).rejects.toThrow('issuer changed');
  });

  it('never starts a new authorization request from a callback, whatever its query', async () => {
    const { auth } = setUp();
    const { flow } = await auth.begin(connection, CALLBACK);
    await expect(auth.complete(connection, ISSUER, flow, CALLBACK, '')).rejects.toThrow();
    const forged = await auth
      .complete(connection, ISSUER, flow, CALLBACK, 'code=x&state=forged')
      .catch((err: unknown) => err);
    expect(forged).toBeInstanceOf(client.ClientError);
    expect((forged as Error & { cause: Error }).cause.message).toMatch(/"state"/);
  });

  it("refuses the provider's error answer (access_denied) with its description", async () => {
    const { auth } = setUp();
    const { flow } = await auth.begin(connection, CALLBACK);
    const query = new URLSearchParams({
      error: 'access_denied',
      error_description: 'user cancelled',
      state: flow.state,
    }).toString();
    await expect(auth.complete(connection, ISSUER, flow, CALLBACK, query)).rejects.toThrow(
      'user cancelled',
    );
  });
});
