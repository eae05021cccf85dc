import { DOMParser } from '@xmldom/xmldom';
import { inflateRawSync } from 'node:zlib';

/**
 * The ID of the AuthnRequest carried by an HTTP-Redirect binding URL (SAMLRequest is the
 * DEFLATE-compressed, base64-encoded request). We read it back from the URL our own library
 * produced, so a login record can name the one response it will accept.
 */
export function authnRequestId(redirectUrl: string): string {
  const encoded = new URL(redirectUrl).searchParams.get('SAMLRequest');
  if (!encoded) throw new Error('no SAMLRequest in the redirect URL');
  const xml = inflateRawSync(Buffer.from(encoded, 'base64'), { maxOutputLength: 64 * 1024 });
  const doc = new DOMParser().parseFromString(xml.toString('utf8'), 'text/xml');
  const id = doc.documentElement?.getAttribute('ID');
  if (doc.documentElement?.localName !== 'AuthnRequest' || !id) {
    throw new Error('the SAMLRequest is not an AuthnRequest with an ID');
  }
  return id;
}
