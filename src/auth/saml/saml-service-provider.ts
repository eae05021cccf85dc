import {
  generateServiceProviderMetadata,
  SamlStatusError,
  Strategy,
  ValidateInResponseTo,
  type CacheProvider,
  type PassportSamlConfig,
  type Profile,
  type VerifyWithoutRequest,
} from '@node-saml/passport-saml';
import { authnRequestId } from '@libs/saml';

/** What one connection's service provider needs to know. */
export interface SamlSettings {
  connectionId: string;
  /** Our entity ID at the IdP, and the Audience its assertions must name. */
  spEntityId: string;
  /** Our Assertion Consumer Service URL (the POST callback). */
  acsUrl: string;
  idpEntityId: string;
  idpSsoUrl: string;
  /** PEM; a signature must verify with one of these (pinned). */
  idpCertificates: string[];
  /** Also require a signature over the whole Response (the assertion's is always required). */
  wantResponseSigned: boolean;
  /** The NameID format to ask for; null: the IdP's choice. */
  nameIdFormat: string | null;
  clockSkewMs: number;
  /** How long an AuthnRequest may wait for its answer. */
  requestTtlMs: number;
}

/** An assertion whose signature, issuer, audience, times, recipient and InResponseTo held. */
export interface VerifiedAssertion {
  assertionId: string;
  nameId: string;
  nameIdFormat: string | null;
  inResponseTo: string | null;
  /** Epoch ms after which the assertion is no longer accepted (clock skew included). */
  usableUntil: number;
  attributes: Record<string, string[]>;
}

/** A refused response; `reason` is stable (it goes into the security event), `message` is detail. */
export class SamlRefusal extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'SamlRefusal';
  }
}

/** An assertion older than this is refused whatever its NotOnOrAfter says; it bounds the replay cache. */
export const MAX_ASSERTION_AGE_MS = 60 * 60_000;

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

type Outcome =
  | { kind: 'success'; profile: Profile }
  | { kind: 'redirect'; url: string }
  | { kind: 'error'; error: Error };

/**
 * One connection's SAML service provider, on @node-saml/passport-saml's Strategy. Connections are
 * tenant data that change at run time, so each gets its own Strategy instances (built once per
 * configuration by the caller's cache) driven directly through passport's strategy contract
 * (`authenticate` with success/error/redirect actions) rather than registered by name in a global
 * passport instance. Two strategies: SP-initiated responses must answer an AuthnRequest this
 * connection sent (InResponseTo always checked against the shared cache); unsolicited responses,
 * used only where the connection allows IdP-initiated login, must answer none.
 */
export class SamlServiceProvider {
  private readonly solicited: Strategy;
  private unsolicitedStrategy: Strategy | undefined;

  constructor(
    readonly settings: SamlSettings,
    private readonly requestIds: CacheProvider,
  ) {
    this.solicited = this.strategy(ValidateInResponseTo.always);
  }

  /** The IdP URL (HTTP-Redirect binding) carrying a new AuthnRequest, and that request's ID. */
  async loginUrl(relayState: string): Promise<{ url: string; requestId: string }> {
    const outcome = await run(this.solicited, { query: { RelayState: relayState }, body: {} });
    if (outcome.kind !== 'redirect') {
      throw outcome.kind === 'error' ? outcome.error : new Error('no redirect');
    }
    return { url: outcome.url, requestId: authnRequestId(outcome.url) };
  }

  /** Checks a posted SAMLResponse; throws SamlRefusal. */
  async verify(samlResponse: string, solicited: boolean): Promise<VerifiedAssertion> {
    const strategy = solicited ? this.solicited : this.unsolicited();
    const outcome = await run(strategy, { query: {}, body: { SAMLResponse: samlResponse } });
    if (outcome.kind === 'error') throw refusalOf(outcome.error);
    if (outcome.kind !== 'success') throw new SamlRefusal('invalid_response', 'no assertion');
    return this.check(outcome.profile, solicited);
  }

  /** Our SP metadata: entity ID, ACS (HTTP-POST), signed assertions wanted. */
  metadataXml(): string {
    return generateServiceProviderMetadata({
      issuer: this.settings.spEntityId,
      callbackUrl: this.settings.acsUrl,
      identifierFormat: this.settings.nameIdFormat,
      wantAssertionsSigned: true,
    });
  }

  private unsolicited(): Strategy {
    this.unsolicitedStrategy ??= this.strategy(ValidateInResponseTo.never);
    return this.unsolicitedStrategy;
  }

  private strategy(validateInResponseTo: ValidateInResponseTo): Strategy {
    const s = this.settings;
    const options: PassportSamlConfig = {
      name: `saml:${s.connectionId}`,
      entryPoint: s.idpSsoUrl,
      issuer: s.spEntityId,
      callbackUrl: s.acsUrl,
      audience: s.spEntityId,
      idpCert: s.idpCertificates,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: s.wantResponseSigned,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'sha256',
      acceptedClockSkewMs: s.clockSkewMs,
      maxAssertionAgeMs: MAX_ASSERTION_AGE_MS,
      validateInResponseTo,
      requestIdExpirationPeriodMs: s.requestTtlMs,
      cacheProvider: this.requestIds,
      identifierFormat: s.nameIdFormat,
      // How the IdP authenticates people is the IdP's policy (MFA, passkeys, ...); asking for
      // PasswordProtectedTransport exactly, node-saml's default, makes some IdPs refuse.
      disableRequestedAuthnContext: true,
      authnRequestBinding: 'HTTP-Redirect',
    };
    const verify: VerifyWithoutRequest = (profile, done) =>
      profile ? done(null, profile) : done(new Error('no profile'));
    return new Strategy(options, verify, verify);
  }

  /** What node-saml leaves to its caller: issuer, recipient, expiry, the assertion's ID. */
  private check(profile: Profile, solicited: boolean): VerifiedAssertion {
    const s = this.settings;
    if (profile.issuer !== s.idpEntityId) {
      throw new SamlRefusal('wrong_issuer', `assertion issuer ${String(profile.issuer)}`);
    }
    const assertion = (profile.getAssertion?.() as { Assertion?: XmlNode } | undefined)?.Assertion;
    const assertionId = attr(assertion, 'ID');
    if (!assertion || !assertionId) throw new SamlRefusal('invalid_response', 'no assertion ID');
    const subject = child(assertion, 'Subject');
    const confirmations = (subject?.SubjectConfirmation ?? []) as XmlNode[];
    const bearer = confirmations
      .filter((c) => attr(c, 'Method') === BEARER)
      .map((c) => child(c, 'SubjectConfirmationData'));
    if (!bearer.some((data) => attr(data, 'Recipient') === s.acsUrl)) {
      throw new SamlRefusal('wrong_recipient', 'no bearer confirmation for this ACS URL');
    }
    const subjectInResponseTo = bearer.map((d) => attr(d, 'InResponseTo')).filter(Boolean);
    const inResponseTo = (profile.inResponseTo as string | undefined) ?? null;
    if (!solicited && (inResponseTo || subjectInResponseTo.length > 0)) {
      throw new SamlRefusal('in_response_to_invalid', 'unsolicited response names a request');
    }
    // SAML profiles 4.1.4.3: the bearer confirmation answers the request too. node-saml 5.1 refuses
    // one naming another request but accepts one naming none; the Response's InResponseTo sits
    // outside a signed assertion, so the assertion must carry it itself.
    if (
      solicited &&
      (!inResponseTo || bearer.some((d) => attr(d, 'InResponseTo') !== inResponseTo))
    ) {
      throw new SamlRefusal(
        'in_response_to_invalid',
        'a bearer SubjectConfirmationData does not name the request answered',
      );
    }
    const limits = [
      attr(child(assertion, 'Conditions'), 'NotOnOrAfter'),
      ...bearer.map((d) => attr(d, 'NotOnOrAfter')),
    ]
      .filter((v): v is string => Boolean(v))
      .map((v) => Date.parse(v));
    const issued = Date.parse(attr(assertion, 'IssueInstant') ?? '');
    if (limits.length === 0 || limits.some(Number.isNaN) || Number.isNaN(issued)) {
      throw new SamlRefusal('no_expiry', 'the assertion carries no usable NotOnOrAfter');
    }
    const usableUntil = Math.min(...limits, issued + MAX_ASSERTION_AGE_MS) + s.clockSkewMs;
    if (usableUntil <= Date.now()) throw new SamlRefusal('expired', 'the assertion has expired');
    if (!profile.nameID) throw new SamlRefusal('no_name_id', 'the assertion has no NameID');
    return {
      assertionId,
      nameId: profile.nameID,
      nameIdFormat: profile.nameIDFormat ?? null,
      inResponseTo,
      usableUntil,
      attributes: attributesOf(profile),
    };
  }
}

/** xml2js's shape (node-saml parses the verified assertion with explicitCharkey). */
interface XmlNode {
  $?: Record<string, string>;
  _?: string;
  [child: string]: unknown;
}

function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  const list = node?.[name];
  return Array.isArray(list) ? (list[0] as XmlNode) : undefined;
}

function attr(node: XmlNode | undefined, name: string): string | undefined {
  return node?.$?.[name];
}

/** Attribute values as strings; structured values (rare, never what we map) are dropped. */
function attributesOf(profile: Profile): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const raw = (profile.attributes ?? {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(raw)) {
    const values = (Array.isArray(value) ? value : [value]).filter(
      (v): v is string => typeof v === 'string',
    );
    out[name] = values;
  }
  return out;
}

/** node-saml's errors are plain Errors; their messages are stable enough to name the reason. */
export function refusalOf(err: Error): SamlRefusal {
  if (err instanceof SamlRefusal) return err;
  const m = err.message;
  const reason =
    err instanceof SamlStatusError
      ? 'idp_status'
      : /InResponseTo/i.test(m)
        ? 'in_response_to_invalid'
        : /signature|signed|reference|transforms/i.test(m)
          ? 'invalid_signature'
          : /not yet valid/i.test(m)
            ? 'not_yet_valid'
            : /expired|too old/i.test(m)
              ? 'expired'
              : /audience/i.test(m)
                ? 'wrong_audience'
                : /subject confirmation/i.test(m)
                  ? 'expired'
                  : 'invalid_response';
  return new SamlRefusal(reason, m.slice(0, 300));
}

/** What passport's middleware does for a strategy, minus the global registry and sessions. */
function run(strategy: Strategy, req: { query: object; body: object }): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    const actions = Object.create(strategy) as Strategy;
    actions.success = (user: unknown) => resolve({ kind: 'success', profile: user as Profile });
    actions.error = (error: Error) => resolve({ kind: 'error', error });
    actions.fail = () => resolve({ kind: 'error', error: new Error('refused') });
    actions.redirect = (url: string) => resolve({ kind: 'redirect', url });
    actions.pass = () => resolve({ kind: 'error', error: new Error('nothing to check') });
    try {
      actions.authenticate(
        // The strategy reads query, body, url and headers only; the real request's are not given to
        // it, so nothing but the form's SAMLResponse can steer it (no redirect-binding query).
        { ...req, url: '/', headers: {} } as unknown as Parameters<Strategy['authenticate']>[0],
        {},
      );
    } catch (error) {
      resolve({ kind: 'error', error: error instanceof Error ? error : new Error(String(error)) });
    }
  });
}
