export { contentDigest } from './content-digest';
export { parseSignature } from './parse-signature';
export { signRequest, type SignRequestOptions } from './sign-request';
export { signatureBase } from './signature-base';
export {
  DEFAULT_COMPONENTS_NO_BODY,
  DEFAULT_COMPONENTS_WITH_BODY,
  SIGNATURE_LIMITS,
  type ParsedSignature,
  type SignableRequest,
  type SignatureFailure,
} from './signature-types';
export { verifySignature, type VerifySignatureOptions } from './verify-signature';
