import type { IncomingHttpHeaders } from 'node:http';

export type CredentialResult =
  | { ok: true; credential: string }
  | { ok: false; reason: 'missing' | 'conflicting' | 'malformed_header' };

/** Longest credential we look at (an access token JWT is the longest); anything longer is malformed. */
const MAX_CREDENTIAL_LENGTH = 4096;

/**
 * Reads the credential from `Authorization: Bearer <secret>` or `X-API-Key: <secret>`. Both may be
 * sent only if they agree: two different credentials in one request are refused, not guessed at.
 */
export function extractCredential(headers: IncomingHttpHeaders): CredentialResult {
  const auth = headers.authorization;
  const apiKeyHeader = headers['x-api-key'];
  let fromAuth: string | undefined;
  if (auth !== undefined) {
    const m = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(auth);
    if (!m || m[1].length > MAX_CREDENTIAL_LENGTH) return { ok: false, reason: 'malformed_header' };
    fromAuth = m[1];
  }
  let fromHeader: string | undefined;
  if (apiKeyHeader !== undefined) {
    if (Array.isArray(apiKeyHeader)) return { ok: false, reason: 'conflicting' };
    const v = apiKeyHeader.trim();
    if (!v || v.length > MAX_CREDENTIAL_LENGTH || /\s/.test(v))
      return { ok: false, reason: 'malformed_header' };
    fromHeader = v;
  }
  if (fromAuth && fromHeader && fromAuth !== fromHeader)
    return { ok: false, reason: 'conflicting' };
  const credential = fromAuth ?? fromHeader;
  return credential ? { ok: true, credential } : { ok: false, reason: 'missing' };
}
