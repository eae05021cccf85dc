import { createHash, timingSafeEqual } from 'node:crypto';
import { parseDictionary } from './structured-fields';
import { type SignatureRejection, SIGNATURE_LIMITS, reject } from './signature-types';

/** RFC 9530 algorithms we check, with their digest length; any others in the field are ignored. */
const SUPPORTED_DIGESTS = new Map([
  ['sha-256', { hash: 'sha256', length: 32 }],
  ['sha-512', { hash: 'sha512', length: 64 }],
]);

/** The RFC 9530 Content-Digest field value for a body: 'sha-256=:<base64>:'. */
export function contentDigest(body: Buffer): string {
  return `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
}

/**
 * Checks a Content-Digest field value against the raw body. Every supported algorithm present must
 * match; unknown algorithms are ignored (RFC 9530 2), but at least one supported one must be there.
 * Unparseable values count as a mismatch: the field does not describe this body.
 */
export function checkContentDigest(
  fieldValue: string,
  body: Buffer,
): { ok: true } | SignatureRejection {
  if (fieldValue.length > SIGNATURE_LIMITS.maxHeaderLength) {
    return reject('content_digest_mismatch', 'content-digest is too long');
  }
  const parsed = parseDictionary(fieldValue);
  if (!parsed.ok) {
    return reject('content_digest_mismatch', `content-digest does not parse: ${parsed.error}`);
  }
  const checks: { name: string; hash: string; length: number; value: Buffer }[] = [];
  for (const [name, member] of parsed.value) {
    if (member.kind !== 'item' || member.value.type !== 'bytes' || member.params.size > 0) {
      return reject('content_digest_mismatch', `content-digest member "${name}" is not a digest`);
    }
    const algorithm = SUPPORTED_DIGESTS.get(name);
    if (algorithm) checks.push({ name, ...algorithm, value: member.value.value });
  }
  if (checks.length === 0) {
    return reject('unsupported_digest', 'content-digest has neither sha-256 nor sha-512');
  }
  for (const check of checks) {
    const actual = createHash(check.hash).update(body).digest();
    if (check.value.length !== check.length || !timingSafeEqual(actual, check.value)) {
      return reject('content_digest_mismatch', `the body does not match its ${check.name} digest`);
    }
  }
  return { ok: true };
}
