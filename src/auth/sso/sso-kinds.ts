import { CommonErrorCode, commonError } from '@app/common/errors/common-errors';
import type { Role } from '../roles';
import type { SsoKind } from './sso-kind-registry';

export type { SsoKind } from './sso-kind-registry';

/** One group -> role rule; the first rule whose group the user is in wins. */
export interface RoleMapping {
  group: string;
  role: Role;
}

/** What every connection stores besides its kind's own settings. */
export interface CommonSsoConfig {
  /** Where a finished browser login may land (exact match). Empty for kinds without a redirect. */
  redirectUris: string[];
  roleMapping: RoleMapping[];
  /** The role when no group matches; null: such logins are refused. */
  defaultRole: Role | null;
}

/** A connection as the login flows see it: its secret opened. */
export interface SsoConnection<C extends object = object> {
  tenantId: string;
  id: string;
  kind: SsoKind;
  name: string;
  enabled: boolean;
  config: C & CommonSsoConfig;
  /** The client secret or bind password, decrypted; null when none is stored. */
  secret: string | null;
}

/** Who the identity provider says signed in, in the same terms for every kind. */
export interface ExternalIdentity {
  /** Stable and unique within the connection (OIDC `sub`, SAML NameID, LDAP entry). */
  subject: string;
  email: string | null;
  /** The provider vouches for the email (it may then link to an existing user of that email). */
  emailVerified: boolean;
  displayName: string | null;
  groups: string[];
}

/** A browser login begun: where to send the browser, and the login id its cookie carries back. */
export interface RedirectLoginStart {
  url: string;
  loginId: string;
  /**
   * The provider answers with a cross-site form POST (SAML's HTTP-POST binding): over https the
   * login cookie is then SameSite=None, or the browser would not send it back with the POST.
   */
  crossSitePost?: boolean;
}

/** A kind whose sign-in runs through the browser (OIDC, SAML): GET .../login dispatches to it. */
export interface RedirectLogin {
  /** The connection is enabled and of the kind, and `redirect` one of its redirect URIs. */
  start(
    tenant: SsoTenant,
    connection: SsoConnection,
    redirect: string,
    ip: string,
  ): Promise<RedirectLoginStart>;
}

/** The tenant a login is for. */
export interface SsoTenant {
  id: string;
  slug: string;
}

/** Where a connection's URLs start: `<PUBLIC_URL>/v1/auth/<slug>/<connectionId>`. */
export interface SsoViewContext {
  baseUrl: string;
  /** Whether the kind's secret is stored (it is never returned). */
  secretSet: boolean;
}

/**
 * What a kind of connection (OIDC, SAML, LDAP) adds to the generic connection API: which request
 * fields it takes, how they become its stored config, and what of it the API shows.
 */
export interface SsoKindSpec<C extends object> {
  readonly kind: SsoKind;
  /** Request fields this kind accepts besides the common ones; any other kind's field is refused. */
  readonly fields: readonly string[];
  /** Fields (common or own) that creating a connection of this kind needs. */
  readonly required: readonly string[];
  /** The request field stored sealed with QUIVER_ENCRYPTION_KEY, if the kind has a secret. */
  readonly secretField?: string;
  /** Config fields that decide where the secret is sent: changing one needs the secret again. */
  readonly secretBoundFields?: readonly string[];
  /** The stored config from a request (`current` on updates: merge into it). Throws ssoConfigInvalid. */
  build(
    input: Record<string, unknown>,
    current: C | undefined,
    ctx: { allowHttp: boolean },
  ): C | Promise<C>;
  /** The URLs the server connects to for this config (checked against SsoAddressGuard when saved). */
  destinations?(config: C): Array<{ field: string; url: string }>;
  /** The kind's own fields for the API view (never secrets). */
  view(config: C, ctx: SsoViewContext): Record<string, unknown>;
}

/** A 400 validation_failed naming the field, like the ValidationPipe's. */
export function ssoConfigInvalid(path: string, message: string): Error {
  return commonError(CommonErrorCode.ValidationFailed, 'Request validation failed.', {
    errors: [{ path, message }],
  });
}

/** The first mapping entry whose group the user is in, else the connection's default role. */
export function mapRole(config: CommonSsoConfig, groups: readonly string[]): Role | null {
  const hit = config.roleMapping.find((m) => groups.includes(m.group));
  return hit?.role ?? config.defaultRole;
}
