import { X509Certificate } from 'node:crypto';

/** Why a certificate or a metadata document was refused; `message` is safe to show an admin. */
export class SamlConfigError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'SamlConfigError';
  }
}

/** The largest certificate we take (a 4096-bit RSA certificate with a long chain of names is ~2 KB). */
const MAX_CERT_CHARS = 16_384;

/**
 * An IdP signing certificate as PEM, from PEM or from the bare base64 of metadata's
 * `<ds:X509Certificate>`. It must parse as X.509 with an RSA or EC key: those are the keys a
 * SAML signature can be checked with. Expiry is not checked: SAML trusts a pinned key, and many
 * IdPs sign with long-expired self-signed certificates.
 */
export function normalizeCertificate(input: string, path = 'idpCertificates'): string {
  if (typeof input !== 'string' || input.length > MAX_CERT_CHARS) {
    throw new SamlConfigError(path, 'is not a certificate (PEM or base64 DER, at most 16 KB)');
  }
  const body = input
    .replace(/-----BEGIN CERTIFICATE-----/, '')
    .replace(/-----END CERTIFICATE-----/, '')
    .replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) {
    throw new SamlConfigError(path, 'is not a certificate (PEM or base64 DER)');
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(body, 'base64'));
  } catch {
    throw new SamlConfigError(path, 'is not a parseable X.509 certificate');
  }
  const type = cert.publicKey.asymmetricKeyType;
  if (type !== 'rsa' && type !== 'ec') {
    throw new SamlConfigError(
      path,
      `has a ${type ?? 'unknown'} key; SAML signatures need RSA or EC`,
    );
  }
  const der = cert.raw.toString('base64');
  const lines = der.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** SHA-256 fingerprint (colon-separated hex) and validity, for showing an admin which key is pinned. */
export function describeCertificate(pem: string): {
  sha256: string;
  subject: string;
  notAfter: string;
} {
  const cert = new X509Certificate(pem);
  return {
    sha256: cert.fingerprint256,
    subject: cert.subject.replace(/\n/g, ', '),
    notAfter: new Date(cert.validTo).toISOString(),
  };
}
