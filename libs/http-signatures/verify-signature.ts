import { createHmac, timingSafeEqual } from 'node:crypto';
import { checkContentDigest } from './content-digest';
import { buildSignatureBase, checkComponents, fieldValue } from './signature-base';
import {
  HMAC_SHA256,
  type ParsedSignature,
  type SignableRequest,
  type SignatureRejection,
  hasBody,
  reject,
} from './signature-types';

export interface VerifySignatureOptions {
  /** Unix seconds. */
  now: number;
  maxSkewSeconds: number;
  /**
   * Components the signature must cover. Default: @method, @target-uri (or all of @authority,
   * @path and @query). Whatever is given, content-digest is also required when there is a body.
   */
  requiredComponents?: readonly string[];
}

const URI_BY_PARTS = ['@authority', '@path', '@query'];

function missingRequired(
  covered: ReadonlySet<string>,
  required: readonly string[] | undefined,
): string | undefined {
  if (required !== undefined) return required.find((component) => !covered.has(component));
  if (!covered.has('@method')) return '@method';
  if (!covered.has('@target-uri') && !URI_BY_PARTS.every((part) => covered.has(part))) {
    return '@target-uri (or @authority, @path and @query)';
  }
  return undefined;
}

/**
 * Verifies an hmac-sha256 signature (RFC 9421) over a request, and its Content-Digest (RFC 9530)
 * against the raw body. Any of `secrets` may match (key rotation). Replay is the caller's concern:
 * this only says the signature is authentic and fresh within the skew. Never throws.
 */
export function verifySignature(
  req: SignableRequest,
  sig: ParsedSignature,
  secrets: Buffer[],
  opts: VerifySignatureOptions,
): { ok: true } | SignatureRejection {
  if (sig.alg !== undefined && sig.alg !== HMAC_SHA256) {
    return reject('unsupported_algorithm', `alg "${sig.alg}" is not ${HMAC_SHA256}`);
  }
  if (sig.keyId === '') return reject('missing_keyid', 'the signature has no keyid');
  if (sig.created === undefined) return reject('missing_created', 'the signature has no created');
  // Written so that NaN anywhere fails closed.
  if (!(Math.abs(opts.now - sig.created) <= opts.maxSkewSeconds)) {
    return reject(
      'created_out_of_window',
      `created ${sig.created} is more than ${opts.maxSkewSeconds}s from now`,
    );
  }
  if (sig.expires !== undefined && !(sig.expires >= opts.now)) {
    return reject('expired', `the signature expired at ${sig.expires}`);
  }

  const badComponents = checkComponents(sig.components);
  if (badComponents !== undefined) return reject('malformed_signature', badComponents);
  const covered = new Set(sig.components);
  const missing = missingRequired(covered, opts.requiredComponents);
  if (missing !== undefined) {
    return reject('missing_component', `the signature does not cover ${missing}`);
  }
  if (hasBody(req) && !covered.has('content-digest')) {
    return reject('missing_component', 'a request with a body must cover content-digest');
  }
  const digestField = covered.has('content-digest')
    ? fieldValue(req.headers, 'content-digest')
    : undefined;
  if (covered.has('content-digest') && digestField === undefined) {
    return reject('missing_content_digest', 'content-digest is covered but not in the request');
  }

  const base = buildSignatureBase(req, sig.components, sig.signatureParams);
  if (!base.ok) return reject('component_absent', base.error);
  if (!hmacMatchesAny(Buffer.from(base.base), sig.signature, secrets)) {
    return reject('bad_signature', 'the signature does not match');
  }

  // After the HMAC, so a forged request cannot make us hash a large body.
  if (digestField !== undefined) {
    const digest = checkContentDigest(digestField, req.body ?? Buffer.alloc(0));
    if (!digest.ok) return digest;
  }
  return { ok: true };
}

function hmacMatchesAny(base: Buffer, signature: Buffer, secrets: Buffer[]): boolean {
  let matched = false;
  // Every candidate is tried, so timing does not tell which secret (current or previous) matched.
  for (const secret of secrets) {
    // An empty key would make the MAC forgeable by anyone: never accept it.
    if (secret.length === 0) continue;
    const expected = createHmac('sha256', secret).update(base).digest();
    const match = expected.length === signature.length && timingSafeEqual(expected, signature);
    matched = match || matched;
  }
  return matched;
}
