export { authnRequestId } from './authn-request';
export { describeCertificate, normalizeCertificate, SamlConfigError } from './certificates';
export {
  BINDING_REDIRECT,
  isHttpUrl,
  MAX_IDP_CERTIFICATES,
  MAX_METADATA_CHARS,
  parseIdpMetadata,
  type IdpMetadata,
} from './idp-metadata';
