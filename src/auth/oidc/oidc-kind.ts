import type { SsoKindSpec } from '../sso/sso-kinds';
import { ssoConfigInvalid } from '../sso/sso-kinds';

/** The non-secret settings of an OIDC connection, as stored in sso_connections.config. */
export interface OidcConfig {
  issuer: string;
  clientId: string;
  idTokenAlg: string;
  groupsClaim: string;
}

function str(input: Record<string, unknown>, field: string): string | undefined {
  const v = input[field];
  return typeof v === 'string' ? v : undefined;
}

/** OpenID Connect: discovery from the issuer, code + PKCE; the client secret is sealed. */
export const OIDC_KIND: SsoKindSpec<OidcConfig> = {
  kind: 'oidc',
  fields: ['issuer', 'clientId', 'clientSecret', 'idTokenAlg', 'groupsClaim'],
  required: ['name', 'issuer', 'clientId', 'redirectUris'],
  secretField: 'clientSecret',
  secretBoundFields: ['issuer', 'clientId'],
  build(input, current, { allowHttp }) {
    const issuer = str(input, 'issuer');
    if (issuer !== undefined && !issuer.startsWith('https://') && !allowHttp) {
      throw ssoConfigInvalid('issuer', 'issuer must be an https URL');
    }
    return {
      issuer: issuer?.replace(/\/$/, '') ?? current!.issuer,
      clientId: str(input, 'clientId') ?? current!.clientId,
      idTokenAlg: str(input, 'idTokenAlg') ?? current?.idTokenAlg ?? 'RS256',
      groupsClaim: str(input, 'groupsClaim') ?? current?.groupsClaim ?? 'groups',
    };
  },
  destinations: (config) => [{ field: 'issuer', url: config.issuer }],
  view(config, { baseUrl, secretSet }) {
    return {
      issuer: config.issuer,
      clientId: config.clientId,
      clientSecretSet: secretSet,
      idTokenAlg: config.idTokenAlg,
      groupsClaim: config.groupsClaim,
      callbackUrl: `${baseUrl}/callback`,
    };
  },
};
