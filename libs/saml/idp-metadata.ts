import { DOMParser } from '@xmldom/xmldom';
import { normalizeCertificate, SamlConfigError } from './certificates';

export const MD_NS = 'urn:oasis:names:tc:SAML:2.0:metadata';
export const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
const SAML2_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const BINDING_REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const BINDING_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

/** One IdP's metadata is a few KB; a federation aggregate is megabytes and is not what we take. */
export const MAX_METADATA_CHARS = 256 * 1024;
/** Signing certificates pinned per connection: the current one and its successors during rollover. */
export const MAX_IDP_CERTIFICATES = 4;

export interface IdpMetadata {
  entityId: string;
  /** The SingleSignOnService location for the HTTP-Redirect binding (the one we send requests on). */
  ssoUrl: string;
  /** PEM, deduplicated, in document order. */
  certificates: string[];
}

const PATH = 'idpMetadataXml';

/**
 * Reads what a service provider needs from an IdP's SAML 2.0 metadata (an EntityDescriptor, or an
 * EntitiesDescriptor holding exactly one IdP): its entity ID, where to send AuthnRequests, and the
 * certificates its signatures must verify with. Metadata is trusted because an admin pasted it, so
 * a signature on the metadata itself is not checked. A DOCTYPE (and with it any entity) is refused
 * before parsing: there is no legitimate use for one in metadata and a long history of abuse.
 */
export function parseIdpMetadata(xml: string): IdpMetadata {
  if (typeof xml !== 'string' || xml.trim() === '') {
    throw new SamlConfigError(PATH, 'is empty');
  }
  if (xml.length > MAX_METADATA_CHARS) {
    throw new SamlConfigError(PATH, `is larger than ${MAX_METADATA_CHARS / 1024} KB`);
  }
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) {
    throw new SamlConfigError(PATH, 'must not contain a DOCTYPE or entity declarations');
  }
  const doc = parseXml(xml);
  const root = doc.documentElement;
  if (!root || root.namespaceURI !== MD_NS) {
    throw new SamlConfigError(PATH, 'is not SAML 2.0 metadata (an md:EntityDescriptor)');
  }
  const entities =
    root.localName === 'EntityDescriptor'
      ? [root]
      : root.localName === 'EntitiesDescriptor'
        ? elements(root, MD_NS, 'EntityDescriptor')
        : [];
  const idps = entities.flatMap((entity) =>
    children(entity, MD_NS, 'IDPSSODescriptor')
      .filter((d) => (d.getAttribute('protocolSupportEnumeration') ?? '').includes(SAML2_PROTOCOL))
      .map((descriptor) => ({ entity, descriptor })),
  );
  if (idps.length !== 1) {
    throw new SamlConfigError(
      PATH,
      idps.length === 0
        ? 'describes no SAML 2.0 identity provider (IDPSSODescriptor)'
        : 'describes several identity providers; paste the metadata of one',
    );
  }
  const { entity, descriptor } = idps[0];
  const entityId = (entity.getAttribute('entityID') ?? '').trim();
  if (!entityId || entityId.length > 1024) {
    throw new SamlConfigError(PATH, 'has no entityID (or one over 1024 characters)');
  }

  const services = children(descriptor, MD_NS, 'SingleSignOnService');
  const redirect = services.find((s) => s.getAttribute('Binding') === BINDING_REDIRECT);
  if (!redirect) {
    throw new SamlConfigError(
      PATH,
      services.some((s) => s.getAttribute('Binding') === BINDING_POST)
        ? 'offers single sign-on only over HTTP-POST; Quiver sends requests over HTTP-Redirect'
        : 'has no SingleSignOnService',
    );
  }
  const ssoUrl = (redirect.getAttribute('Location') ?? '').trim();
  if (!isHttpUrl(ssoUrl)) {
    throw new SamlConfigError(
      PATH,
      'has a SingleSignOnService Location that is not an http(s) URL',
    );
  }

  const certificates: string[] = [];
  for (const key of children(descriptor, MD_NS, 'KeyDescriptor')) {
    const use = key.getAttribute('use');
    if (use && use !== 'signing') continue;
    for (const node of elements(key, DS_NS, 'X509Certificate')) {
      const pem = normalizeCertificate(node.textContent ?? '', PATH);
      if (!certificates.includes(pem)) certificates.push(pem);
    }
  }
  if (certificates.length === 0) {
    throw new SamlConfigError(PATH, 'has no signing certificate (KeyDescriptor use="signing")');
  }
  if (certificates.length > MAX_IDP_CERTIFICATES) {
    throw new SamlConfigError(
      PATH,
      `has more than ${MAX_IDP_CERTIFICATES} signing certificates; pin the ones in use`,
    );
  }
  return { entityId, ssoUrl, certificates };
}

export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && value.length <= 2048;
  } catch {
    return false;
  }
}

function parseXml(xml: string): Document {
  let problem: string | undefined;
  const fail = (msg: string) => {
    problem ??= String(msg).split('\n')[0].slice(0, 200);
  };
  const doc = new DOMParser({
    locator: {},
    errorHandler: { warning: () => undefined, error: fail, fatalError: fail },
  }).parseFromString(xml, 'text/xml');
  if (problem || !doc?.documentElement) {
    throw new SamlConfigError(PATH, `is not well-formed XML${problem ? `: ${problem}` : ''}`);
  }
  return doc;
}

/** Direct children with this namespace and local name. */
function children(parent: Element, ns: string, name: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    const el = n as Element;
    if (n.nodeType === 1 && el.namespaceURI === ns && el.localName === name) out.push(el);
  }
  return out;
}

/** Descendants with this namespace and local name. */
function elements(parent: Element, ns: string, name: string): Element[] {
  return Array.from(parent.getElementsByTagNameNS(ns, name));
}
