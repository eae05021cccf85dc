import { defineErrors } from '@app/common/errors/app-exception';

export enum GatewayErrorCode {
  IpNotAllowed = 'ip_not_allowed',
  SignatureRequired = 'signature_required',
  SignatureMalformed = 'signature_malformed',
  SignatureUnknownKey = 'signature_unknown_key',
  SignatureUnsupportedAlgorithm = 'signature_unsupported_algorithm',
  SignatureExpired = 'signature_expired',
  SignatureMissingComponent = 'signature_missing_component',
  SignatureInvalid = 'signature_invalid',
  SignatureReplayed = 'signature_replayed',
  ContentDigestMissing = 'content_digest_missing',
  ContentDigestMismatch = 'content_digest_mismatch',
  RateLimited = 'rate_limited',
}

export const gatewayError = defineErrors<GatewayErrorCode>({
  [GatewayErrorCode.IpNotAllowed]: { status: 403, title: 'Client address not allowed' },
  [GatewayErrorCode.SignatureRequired]: { status: 401, title: 'A signed request is required' },
  [GatewayErrorCode.SignatureMalformed]: { status: 401, title: 'Malformed request signature' },
  [GatewayErrorCode.SignatureUnknownKey]: { status: 401, title: 'Unknown signing key' },
  [GatewayErrorCode.SignatureUnsupportedAlgorithm]: {
    status: 401,
    title: 'Unsupported signature algorithm',
  },
  [GatewayErrorCode.SignatureExpired]: { status: 401, title: 'Signature outside its time window' },
  [GatewayErrorCode.SignatureMissingComponent]: {
    status: 401,
    title: 'Signature does not cover a required component',
  },
  [GatewayErrorCode.SignatureInvalid]: { status: 401, title: 'Signature does not verify' },
  [GatewayErrorCode.SignatureReplayed]: { status: 401, title: 'Signature replayed' },
  [GatewayErrorCode.ContentDigestMissing]: { status: 401, title: 'Content-Digest missing' },
  [GatewayErrorCode.ContentDigestMismatch]: {
    status: 401,
    title: 'Body does not match Content-Digest',
  },
  [GatewayErrorCode.RateLimited]: { status: 429, title: 'Rate limit exceeded' },
});
