import { createHmac, randomBytes } from 'node:crypto';
import { contentDigest } from './content-digest';
import { buildSignatureBase } from './signature-base';
import {
  DEFAULT_COMPONENTS_NO_BODY,
  DEFAULT_COMPONENTS_WITH_BODY,
  type SignableRequest,
  hasBody,
} from './signature-types';
import { isSfKey, isSfString, serializeSfString } from './structured-fields';

export interface SignRequestOptions {
  keyId: string;
  secret: Buffer;
  /** Unix seconds; defaults to now. */
  created?: number;
  /** Unix seconds; omitted by default. */
  expires?: number;
  /** Defaults to 16 random bytes, base64url. */
  nonce?: string;
  /** Defaults to DEFAULT_COMPONENTS_WITH_BODY or DEFAULT_COMPONENTS_NO_BODY. */
  components?: readonly string[];
  /** Defaults to 'sig1'. */
  label?: string;
  tag?: string;
}

function timestamp(name: string, value: number): string {
  if (!Number.isSafeInteger(value) || value < 0 || value > 999_999_999_999_999) {
    throw new RangeError(`${name} must be a non-negative integer of at most 15 digits`);
  }
  return String(value);
}

function sfString(name: string, value: string): string {
  if (!isSfString(value)) throw new RangeError(`${name} must be printable ASCII`);
  return serializeSfString(value);
}

/**
 * Signs a request with hmac-sha256 (RFC 9421) and returns the fields to add: signature-input,
 * signature and, when content-digest is covered, content-digest (RFC 9530, sha-256 of the body).
 * Throws on programmer errors (bad options, a covered field missing from the request).
 */
export function signRequest(
  req: SignableRequest,
  opts: SignRequestOptions,
): Record<string, string> {
  const label = opts.label ?? 'sig1';
  if (!isSfKey(label)) throw new RangeError(`label "${label}" is not a structured-field key`);
  if (opts.keyId === '') throw new RangeError('keyId must not be empty');
  if (opts.secret.length === 0) throw new RangeError('secret must not be empty');
  const components = [
    ...(opts.components ??
      (hasBody(req) ? DEFAULT_COMPONENTS_WITH_BODY : DEFAULT_COMPONENTS_NO_BODY)),
  ];

  const added: Record<string, string> = {};
  let headers = req.headers;
  if (components.includes('content-digest')) {
    added['content-digest'] = contentDigest(req.body ?? Buffer.alloc(0));
    headers = { ...headers, 'content-digest': added['content-digest'] };
  }

  let params = `(${components.map((c) => serializeSfString(c)).join(' ')})`;
  params += `;created=${timestamp('created', opts.created ?? Math.floor(Date.now() / 1000))}`;
  if (opts.expires !== undefined) params += `;expires=${timestamp('expires', opts.expires)}`;
  params += `;nonce=${sfString('nonce', opts.nonce ?? randomBytes(16).toString('base64url'))}`;
  params += `;keyid=${sfString('keyId', opts.keyId)}`;
  if (opts.tag !== undefined) params += `;tag=${sfString('tag', opts.tag)}`;

  const base = buildSignatureBase({ ...req, headers }, components, params);
  if (!base.ok) throw new Error(`cannot sign: ${base.error}`);
  const signature = createHmac('sha256', opts.secret).update(base.base).digest('base64');
  return {
    ...added,
    'signature-input': `${label}=${params}`,
    signature: `${label}=:${signature}:`,
  };
}
