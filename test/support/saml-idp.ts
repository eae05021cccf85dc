import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as samlify from 'samlify';
import { ExclusiveCanonicalization } from 'xml-crypto';

// samlify validates messages against the SAML schemas only through a validator you plug in; this
// IdP produces messages (and parses our AuthnRequests only to answer them), so it skips validation.
// Quiver's own side never uses samlify.
samlify.setSchemaValidator({ validate: () => Promise.resolve('skipped') });

const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
};
const BINDING_REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const BINDING_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
export const NAMEID_PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
export const NAMEID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
export const NAMEID_TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';

export interface KeyPair {
  key: string;
  cert: string;
}

/** A fresh RSA key and self-signed certificate, made with the openssl CLI. */
export function makeKeyPair(cn: string, key: 'rsa:2048' | 'ed25519' = 'rsa:2048'): KeyPair {
  const dir = mkdtempSync(join(tmpdir(), 'quiver-saml-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        key,
        '-nodes',
        ...(key === 'ed25519' ? [] : ['-sha256']),
        '-days',
        '30',
        '-subj',
        `/CN=${cn}`,
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What one assertion says; anything unset gets the value an honest IdP would send. */
export interface AssertionSpec {
  nameId: string;
  nameIdFormat?: string;
  email?: string | null;
  displayName?: string | null;
  groups?: string[];
  /** Extra attributes (name -> values), added as given. */
  attributes?: Record<string, string | string[]>;
  /** The AuthnRequest answered; null for an IdP-initiated (unsolicited) response. */
  inResponseTo: string | null;
  /**
   * The bearer SubjectConfirmationData's InResponseTo, when it should differ from the Response's:
   * null leaves it out, a string names that request instead.
   */
  subjectInResponseTo?: string | null;
  audience?: string;
  issuer?: string;
  issueInstant?: Date;
  notBefore?: Date;
  notOnOrAfter?: Date;
  recipient?: string;
}

export interface SignOptions {
  /** Sign the assertion (default true). */
  assertion?: boolean;
  /** Sign the response as well (default false). */
  response?: boolean;
  /** Sign with the pinned key (default) or with another key the SP does not know. */
  key?: 'pinned' | 'other';
}

export interface ParsedAuthnRequest {
  id: string;
  issuer: string;
  acsUrl: string;
  relayState: string | null;
}

/**
 * An in-process SAML 2.0 identity provider built with samlify (a different SAML library from the one
 * Quiver uses): it answers the AuthnRequests Quiver's login sends (SP-initiated) and makes unsolicited
 * responses (IdP-initiated), signed with a key made at setup; `other` is a second key that the
 * connection does not pin. The helpers below the class turn a signed response into the hostile
 * variants an attacker would try.
 */
export class TestSamlIdp {
  readonly pinned: KeyPair;
  readonly other: KeyPair;
  private sp: { entityId: string; acsUrl: string; metadata: string } | undefined;

  constructor(
    readonly entityId = 'https://idp.test.example/saml/metadata',
    readonly ssoUrl = 'https://idp.test.example/saml/sso',
  ) {
    this.pinned = makeKeyPair('Test IdP signing');
    this.other = makeKeyPair('Someone else');
  }

  private idp(key: KeyPair): samlify.IdentityProviderInstance {
    return samlify.IdentityProvider({
      entityID: this.entityId,
      privateKey: key.key,
      signingCert: key.cert,
      nameIDFormat: [NAMEID_PERSISTENT],
      singleSignOnService: [
        { Binding: BINDING_REDIRECT, Location: this.ssoUrl },
        { Binding: BINDING_POST, Location: this.ssoUrl },
      ],
      singleLogoutService: [{ Binding: BINDING_REDIRECT, Location: `${this.ssoUrl}/logout` }],
    });
  }

  /** The IdP's metadata XML (samlify's own), as an admin would paste it. */
  metadataXml(): string {
    return this.idp(this.pinned).getMetadata();
  }

  /** Learns the service provider from the metadata Quiver serves. */
  useSpMetadata(xml: string): void {
    const sp = samlify.ServiceProvider({ metadata: xml });
    this.sp = {
      entityId: sp.entityMeta.getEntityID(),
      acsUrl: sp.entityMeta.getAssertionConsumerService('post') as string,
      metadata: xml,
    };
  }

  get spEntityId(): string {
    return this.requireSp().entityId;
  }

  get acsUrl(): string {
    return this.requireSp().acsUrl;
  }

  /** Reads the AuthnRequest of an HTTP-Redirect URL the way the IdP would on receiving it. */
  async parseAuthnRequest(redirectUrl: string): Promise<ParsedAuthnRequest> {
    const url = new URL(redirectUrl);
    if (`${url.origin}${url.pathname}` !== this.ssoUrl) throw new Error(`not our SSO URL: ${url}`);
    const query = Object.fromEntries(url.searchParams);
    const parsed = await this.idp(this.pinned).parseLoginRequest(this.spEntity({}), 'redirect', {
      query,
      octetString: url.search.slice(1),
    });
    const request = (parsed.extract as { request: { id: string }; issuer: string }).request;
    const doc = new DOMParser().parseFromString(parsed.samlContent, 'text/xml');
    return {
      id: request.id,
      issuer: (parsed.extract as { issuer: string }).issuer,
      acsUrl: doc.documentElement.getAttribute('AssertionConsumerServiceURL') ?? '',
      relayState: url.searchParams.get('RelayState'),
    };
  }

  /** A signed SAMLResponse (base64, as posted to the ACS) saying what `spec` says. */
  async response(spec: AssertionSpec, sign: SignOptions = {}): Promise<string> {
    return encode(await this.responseXml(spec, sign));
  }

  /** The same, as XML, for tampering. */
  async responseXml(spec: AssertionSpec, sign: SignOptions = {}): Promise<string> {
    const signAssertion = sign.assertion ?? true;
    const signResponse = sign.response ?? false;
    if (!signAssertion && !signResponse) return this.fill(spec);
    const idp = this.idp(sign.key === 'other' ? this.other : this.pinned);
    const sp = this.spEntity({
      wantAssertionsSigned: signAssertion,
      wantMessageSigned: signResponse,
    });
    const result = await idp.createLoginResponse(
      sp,
      { extract: { request: { id: spec.inResponseTo ?? '' } } },
      'post',
      { email: spec.nameId },
      { customTagReplacement: () => ({ id: '', context: this.fill(spec) }) },
    );
    return decode(result.context);
  }

  private spEntity(flags: { wantAssertionsSigned?: boolean; wantMessageSigned?: boolean }) {
    const sp = this.requireSp();
    return samlify.ServiceProvider({
      entityID: sp.entityId,
      assertionConsumerService: [{ Binding: BINDING_POST, Location: sp.acsUrl }],
      wantAssertionsSigned: flags.wantAssertionsSigned ?? true,
      wantMessageSigned: flags.wantMessageSigned ?? false,
    });
  }

  private requireSp() {
    if (!this.sp) throw new Error('call useSpMetadata first');
    return this.sp;
  }

  /** samlify's login response template, filled in. */
  private fill(spec: AssertionSpec): string {
    const sp = this.requireSp();
    const now = spec.issueInstant ?? new Date();
    const later = spec.notOnOrAfter ?? new Date(now.getTime() + 5 * 60_000);
    const attributes: Record<string, string | string[]> = {};
    if (spec.email !== null) attributes.email = spec.email ?? spec.nameId;
    if (spec.displayName) attributes.displayName = spec.displayName;
    if (spec.groups) attributes.groups = spec.groups;
    Object.assign(attributes, spec.attributes ?? {});
    const statement = Object.keys(attributes).length
      ? `<saml:AttributeStatement>${Object.entries(attributes)
          .map(
            ([name, values]) =>
              `<saml:Attribute Name="${esc(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${(Array.isArray(values) ? values : [values]).map((v) => `<saml:AttributeValue xsi:type="xs:string">${esc(v)}</saml:AttributeValue>`).join('')}</saml:Attribute>`,
          )
          .join('')}</saml:AttributeStatement>`
      : '';
    const authn = `<saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="_s${randomBytes(8).toString('hex')}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`;
    let template = samlify.SamlLib.defaultLoginResponseTemplate.context
      .replace('{AuthnStatement}', authn)
      .replace('{AttributeStatement}', statement);
    if (spec.subjectInResponseTo !== undefined) {
      const subject = spec.subjectInResponseTo;
      const confirmation = 'Recipient="{SubjectRecipient}" InResponseTo="{InResponseTo}"';
      if (!template.includes(confirmation)) throw new Error('samlify template changed');
      template = template.replace(
        confirmation,
        `Recipient="{SubjectRecipient}"${subject === null ? '' : ` InResponseTo="${esc(subject)}"`}`,
      );
    }
    return samlify.SamlLib.replaceTagsByValue(template, {
      ID: `_r${randomBytes(16).toString('hex')}`,
      AssertionID: `_a${randomBytes(16).toString('hex')}`,
      Destination: sp.acsUrl,
      Audience: spec.audience ?? sp.entityId,
      SubjectRecipient: spec.recipient ?? sp.acsUrl,
      Issuer: spec.issuer ?? this.entityId,
      IssueInstant: now.toISOString(),
      StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
      ConditionsNotBefore: (spec.notBefore ?? new Date(now.getTime() - 1000)).toISOString(),
      ConditionsNotOnOrAfter: later.toISOString(),
      SubjectConfirmationDataNotOnOrAfter: later.toISOString(),
      NameIDFormat: spec.nameIdFormat ?? NAMEID_PERSISTENT,
      NameID: spec.nameId,
      InResponseTo: spec.inResponseTo,
    });
  }
}

function esc(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

export function encode(xml: string): string {
  return Buffer.from(xml, 'utf8').toString('base64');
}

export function decode(b64: string): string {
  return Buffer.from(b64, 'base64').toString('utf8');
}

// ----------------------------------------------------------------- what an attacker does to XML

function parse(xml: string): Document {
  return new DOMParser().parseFromString(xml, 'text/xml');
}

function serialize(doc: Document | Node): string {
  return new XMLSerializer().serializeToString(doc);
}

function first(doc: Document | Element, ns: string, name: string): Element {
  const el = doc.getElementsByTagNameNS(ns, name)[0];
  if (!el) throw new Error(`no ${name}`);
  return el;
}

/** Changes the NameID's text after signing. */
export function tamperNameId(xml: string, value: string): string {
  const doc = parse(xml);
  first(doc, NS.saml, 'NameID').textContent = value;
  return serialize(doc);
}

/** Splits the NameID's text with an empty comment at `at` (the signature does not cover comments). */
export function injectComment(xml: string, at: number): string {
  const doc = parse(xml);
  const nameId = first(doc, NS.saml, 'NameID');
  const text = nameId.textContent ?? '';
  while (nameId.firstChild) nameId.removeChild(nameId.firstChild);
  nameId.appendChild(doc.createTextNode(text.slice(0, at)));
  nameId.appendChild(doc.createComment(''));
  nameId.appendChild(doc.createTextNode(text.slice(at)));
  return serialize(doc);
}

/** Removes every signature. */
export function stripSignatures(xml: string): string {
  const doc = parse(xml);
  for (const sig of Array.from(doc.getElementsByTagNameNS(NS.ds, 'Signature'))) {
    sig.parentNode!.removeChild(sig);
  }
  return serialize(doc);
}

/** An unsigned copy of the (signed) assertion saying `nameId`, with a fresh ID. */
function forgedAssertion(doc: Document, nameId: string, keepId = false): Element {
  const signed = first(doc, NS.saml, 'Assertion');
  const forged = signed.cloneNode(true) as Element;
  for (const sig of Array.from(forged.getElementsByTagNameNS(NS.ds, 'Signature'))) {
    sig.parentNode!.removeChild(sig);
  }
  if (!keepId) forged.setAttribute('ID', `_evil${randomBytes(8).toString('hex')}`);
  first(forged, NS.saml, 'NameID').textContent = nameId;
  return forged;
}

/** XSW: a forged assertion placed before the signed one, both children of the Response. */
export function wrapSibling(xml: string, nameId: string): string {
  const doc = parse(xml);
  const signed = first(doc, NS.saml, 'Assertion');
  signed.parentNode!.insertBefore(forgedAssertion(doc, nameId), signed);
  return serialize(doc);
}

/**
 * XSW: the forged assertion takes the signed one's place in the Response, and the signed one moves
 * inside it (in the forged assertion's Signature-free Subject's extension point, the Advice).
 */
export function wrapInside(xml: string, nameId: string): string {
  const doc = parse(xml);
  const signed = first(doc, NS.saml, 'Assertion');
  const forged = forgedAssertion(doc, nameId);
  const advice = doc.createElementNS(NS.saml, 'saml:Advice');
  signed.parentNode!.replaceChild(forged, signed);
  advice.appendChild(signed);
  const conditions = first(forged, NS.saml, 'Conditions');
  forged.insertBefore(advice, conditions.nextSibling);
  return serialize(doc);
}

/** XSW: the signed assertion moved into the Response's Extensions, the forged one (same ID) in its place. */
export function wrapInExtensions(xml: string, nameId: string): string {
  const doc = parse(xml);
  const signed = first(doc, NS.saml, 'Assertion');
  const forged = forgedAssertion(doc, nameId, true);
  const response = doc.documentElement;
  signed.parentNode!.replaceChild(forged, signed);
  const extensions = doc.createElementNS(NS.samlp, 'samlp:Extensions');
  extensions.appendChild(signed);
  response.insertBefore(extensions, first(doc, NS.samlp, 'Status'));
  return serialize(doc);
}

/** A second SignedInfo in the assertion's Signature, pointing at the same reference. */
export function duplicateSignedInfo(xml: string): string {
  const doc = parse(xml);
  const signedInfo = first(doc, NS.ds, 'SignedInfo');
  signedInfo.parentNode!.insertBefore(signedInfo.cloneNode(true), signedInfo);
  return serialize(doc);
}

/**
 * The assertion's signature rewritten as HMAC-SHA256 keyed with the IdP's public certificate (which
 * anyone has): a verifier that lets the document pick its algorithm would accept it.
 */
export function hmacWithCertificate(xml: string, certPem: string): string {
  const doc = parse(xml);
  const signedInfo = first(doc, NS.ds, 'SignedInfo');
  first(signedInfo, NS.ds, 'SignatureMethod').setAttribute(
    'Algorithm',
    'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256',
  );
  const canonical = new ExclusiveCanonicalization().process(signedInfo, {});
  first(doc, NS.ds, 'SignatureValue').textContent = createHmac('sha256', certPem)
    .update(canonical)
    .digest('base64');
  return serialize(doc);
}
