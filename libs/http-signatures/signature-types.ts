export interface SignableRequest {
  /** As received, e.g. 'POST'. */
  method: string;
  /** Absolute, e.g. 'https://api.example.com/v1/collections/x/search?a=1'. */
  targetUri: string;
  /** Lower-case names, as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** Raw bytes as sent or received; undefined or empty means no body. */
  body?: Buffer;
}

export interface ParsedSignature {
  label: string;
  keyId: string;
  alg: string | undefined;
  created: number | undefined;
  expires?: number;
  nonce?: string;
  tag?: string;
  components: string[];
  /** The serialized inner list exactly as received: the signature base uses it verbatim. */
  signatureParams: string;
  signature: Buffer;
}

export type SignatureFailure =
  | 'missing_signature'
  | 'malformed_signature'
  | 'multiple_signatures'
  | 'unsupported_algorithm'
  | 'missing_keyid'
  | 'missing_created'
  | 'created_out_of_window'
  | 'expired'
  /** A component the verifier requires is not covered by the signature. */
  | 'missing_component'
  /** A covered component cannot be taken from the request (header absent, unusable value or URI). */
  | 'component_absent'
  | 'missing_content_digest'
  | 'content_digest_mismatch'
  | 'unsupported_digest'
  | 'bad_signature';

export type SignatureRejection = { ok: false; reason: SignatureFailure; detail: string };

// Frozen: a caller pushing onto a shared default would silently change what every request covers.
export const DEFAULT_COMPONENTS_WITH_BODY: readonly string[] = Object.freeze([
  '@method',
  '@target-uri',
  'content-digest',
]);
export const DEFAULT_COMPONENTS_NO_BODY: readonly string[] = Object.freeze([
  '@method',
  '@target-uri',
]);

export const SIGNATURE_LIMITS = {
  /** Per field (Signature-Input, Signature, Content-Digest), after joining repeated lines. */
  maxHeaderLength: 8 * 1024,
  maxComponents: 20,
} as const;

export const HMAC_SHA256 = 'hmac-sha256';

export function hasBody(req: SignableRequest): req is SignableRequest & { body: Buffer } {
  return req.body !== undefined && req.body.length > 0;
}

export function reject(reason: SignatureFailure, detail: string): SignatureRejection {
  return { ok: false, reason, detail };
}
