import { LDAP_KIND } from '../ldap/ldap-kind';
import { OIDC_KIND } from '../oidc/oidc-kind';
import { SAML_KIND } from '../saml/saml-kind';

/**
 * Every kind of SSO connection and its spec. A new kind (its DTO fields, config and view) registers
 * here; the connection API, storage and login dispatch are shared.
 */
export const SSO_KIND_SPECS = {
  oidc: OIDC_KIND,
  saml: SAML_KIND,
  ldap: LDAP_KIND,
} as const;

export type SsoKind = keyof typeof SSO_KIND_SPECS;

export const SSO_KINDS = Object.keys(SSO_KIND_SPECS) as SsoKind[];
