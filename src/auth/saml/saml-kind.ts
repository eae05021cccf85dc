import {
  isHttpUrl,
  normalizeCertificate,
  parseIdpMetadata,
  SamlConfigError,
  type IdpMetadata,
} from '@libs/saml';
import type { SsoKindSpec } from '../sso/sso-kinds';
import { ssoConfigInvalid } from '../sso/sso-kinds';

/** The settings of a SAML connection, as stored in sso_connections.config (nothing secret). */
export interface SamlConfig {
  idpEntityId: string;
  idpSsoUrl: string;
  /** PEM, normalised. */
  idpCertificates: string[];
  wantResponseSigned: boolean;
  allowIdpInitiated: boolean;
  emailAttribute: string;
  nameAttribute: string;
  groupsAttribute: string;
}

const IDP_FIELDS = ['idpEntityId', 'idpSsoUrl', 'idpCertificates'] as const;

/** Our entity ID for a connection: its metadata URL, so the IdP admin can fetch it from there. */
export function spEntityIdOf(baseUrl: string): string {
  return `${baseUrl}/metadata`;
}

function str(input: Record<string, unknown>, field: string): string | undefined {
  const v = input[field];
  return typeof v === 'string' ? v : undefined;
}

function bool(input: Record<string, unknown>, field: string): boolean | undefined {
  const v = input[field];
  return typeof v === 'boolean' ? v : undefined;
}

/** Metadata or the three IdP fields; a SamlConfigError becomes a 400 naming the field. */
function idpOf(
  input: Record<string, unknown>,
  current: SamlConfig | undefined,
  allowHttp: boolean,
): IdpMetadata {
  try {
    const xml = str(input, 'idpMetadataXml');
    if (xml !== undefined) {
      const also = IDP_FIELDS.filter((f) => input[f] !== undefined);
      if (also.length > 0) {
        throw new SamlConfigError(
          also[0],
          'give the IdP either as idpMetadataXml or as idpEntityId, idpSsoUrl and idpCertificates, not both',
        );
      }
      const parsed = parseIdpMetadata(xml);
      if (!allowHttp && !parsed.ssoUrl.startsWith('https://')) {
        throw new SamlConfigError('idpMetadataXml', 'the SingleSignOnService must be an https URL');
      }
      return parsed;
    }
    const missing = IDP_FIELDS.filter((f) => input[f] === undefined && !current);
    if (missing.length > 0) {
      throw new SamlConfigError(
        missing[0],
        `${missing[0]} is required for saml (or give idpMetadataXml)`,
      );
    }
    const ssoUrl = str(input, 'idpSsoUrl') ?? current!.idpSsoUrl;
    if (!isHttpUrl(ssoUrl) || (!allowHttp && !ssoUrl.startsWith('https://'))) {
      throw new SamlConfigError('idpSsoUrl', 'idpSsoUrl must be an https URL');
    }
    const certs = input.idpCertificates as string[] | undefined;
    const certificates = certs
      ? [...new Set(certs.map((c, i) => normalizeCertificate(c, `idpCertificates.${i}`)))]
      : current!.idpCertificates;
    return {
      entityId: (str(input, 'idpEntityId') ?? current!.idpEntityId).trim(),
      ssoUrl,
      certificates,
    };
  } catch (err) {
    if (err instanceof SamlConfigError) throw ssoConfigInvalid(err.path, err.message);
    throw err;
  }
}

/**
 * SAML 2.0: SP-initiated over HTTP-Redirect, responses posted to our ACS, signed assertions
 * required, the IdP's certificates pinned. No secret: we do not sign our requests.
 */
export const SAML_KIND: SsoKindSpec<SamlConfig> = {
  kind: 'saml',
  fields: [
    'idpMetadataXml',
    ...IDP_FIELDS,
    'wantResponseSigned',
    'allowIdpInitiated',
    'emailAttribute',
    'nameAttribute',
    'groupsAttribute',
  ],
  required: ['name', 'redirectUris'],
  build(input, current, { allowHttp }) {
    const idp = idpOf(input, current, allowHttp);
    if (!idp.entityId) throw ssoConfigInvalid('idpEntityId', 'idpEntityId must not be blank');
    return {
      idpEntityId: idp.entityId,
      idpSsoUrl: idp.ssoUrl,
      idpCertificates: idp.certificates,
      wantResponseSigned: bool(input, 'wantResponseSigned') ?? current?.wantResponseSigned ?? false,
      allowIdpInitiated: bool(input, 'allowIdpInitiated') ?? current?.allowIdpInitiated ?? false,
      emailAttribute: str(input, 'emailAttribute') ?? current?.emailAttribute ?? 'email',
      nameAttribute: str(input, 'nameAttribute') ?? current?.nameAttribute ?? 'displayName',
      groupsAttribute: str(input, 'groupsAttribute') ?? current?.groupsAttribute ?? 'groups',
    };
  },
  view(config, { baseUrl }) {
    return {
      idpEntityId: config.idpEntityId,
      idpSsoUrl: config.idpSsoUrl,
      idpCertificates: config.idpCertificates,
      wantResponseSigned: config.wantResponseSigned,
      allowIdpInitiated: config.allowIdpInitiated,
      emailAttribute: config.emailAttribute,
      nameAttribute: config.nameAttribute,
      groupsAttribute: config.groupsAttribute,
      spEntityId: spEntityIdOf(baseUrl),
      metadataUrl: `${baseUrl}/metadata`,
      callbackUrl: `${baseUrl}/callback`,
    };
  },
};
