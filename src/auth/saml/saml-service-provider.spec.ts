import { InMemoryCacheProvider } from '@node-saml/node-saml/lib/in-memory-cache-provider';
import {
  decode,
  duplicateSignedInfo,
  encode,
  hmacWithCertificate,
  injectComment,
  NAMEID_EMAIL,
  stripSignatures,
  tamperNameId,
  TestSamlIdp,
  wrapInExtensions,
  wrapInside,
  wrapSibling,
} from '../../../test/support/saml-idp';
import { SamlRefusal, SamlServiceProvider, type SamlSettings } from './saml-service-provider';

describe('SamlServiceProvider (node-saml) against a samlify IdP', () => {
  const idp = new TestSamlIdp();
  const settings: SamlSettings = {
    connectionId: '00000000-0000-4000-8000-000000000001',
    spEntityId: 'https://quiver.test/v1/auth/acme/c1/metadata',
    acsUrl: 'https://quiver.test/v1/auth/acme/c1/callback',
    idpEntityId: idp.entityId,
    idpSsoUrl: idp.ssoUrl,
    idpCertificates: [idp.pinned.cert],
    wantResponseSigned: false,
    nameIdFormat: null,
    clockSkewMs: 60_000,
    requestTtlMs: 600_000,
  };
  const make = (over: Partial<SamlSettings> = {}) =>
    new SamlServiceProvider(
      { ...settings, ...over },
      new InMemoryCacheProvider({ keyExpirationPeriodMs: 600_000 }),
    );

  beforeAll(() => idp.useSpMetadata(make().metadataXml()));

  async function solicitedLogin(sp = make()) {
    const { url, requestId } = await sp.loginUrl('relay-1');
    const request = await idp.parseAuthnRequest(url);
    return { sp, url, requestId, request };
  }

  async function refusal(p: Promise<unknown>): Promise<SamlRefusal> {
    try {
      await p;
    } catch (err) {
      expect(err).toBeInstanceOf(SamlRefusal);
      return err as SamlRefusal;
    }
    throw new Error('accepted');
  }

  it('serves metadata samlify reads back: entity ID, ACS over HTTP-POST, signed assertions wanted', () => {
    expect(idp.spEntityId).toBe(settings.spEntityId);
    expect(idp.acsUrl).toBe(settings.acsUrl);
    expect(make().metadataXml()).toContain('WantAssertionsSigned="true"');
  });

  it('sends an AuthnRequest the IdP can read, with its ID, our issuer and ACS, and the RelayState', async () => {
    const { requestId, request } = await solicitedLogin();
    expect(request).toEqual({
      id: requestId,
      issuer: settings.spEntityId,
      acsUrl: settings.acsUrl,
      relayState: 'relay-1',
    });
  });

  it('accepts a signed answer to its request, with attributes as string lists', async () => {
    const { sp, requestId } = await solicitedLogin();
    const response = await idp.response({
      nameId: 'u-1',
      email: 'alice@corp.example',
      displayName: 'Alice',
      groups: ['engineers', 'admins'],
      inResponseTo: requestId,
    });
    const verified = await sp.verify(response, true);
    expect(verified).toMatchObject({
      nameId: 'u-1',
      inResponseTo: requestId,
      attributes: {
        email: ['alice@corp.example'],
        displayName: ['Alice'],
        groups: ['engineers', 'admins'],
      },
    });
    expect(verified.usableUntil).toBeGreaterThan(Date.now());
    // The request ID is used up: the same response again fails its InResponseTo check.
    expect((await refusal(sp.verify(response, true))).reason).toBe('in_response_to_invalid');
  });

  it('accepts a response signed as a whole too, and requires that when configured', async () => {
    const sp = make({ wantResponseSigned: true });
    const a = await solicitedLogin(sp);
    const both = await idp.response(
      { nameId: 'u-2', inResponseTo: a.requestId },
      { assertion: true, response: true },
    );
    expect((await sp.verify(both, true)).nameId).toBe('u-2');
    const b = await solicitedLogin(sp);
    const onlyAssertion = await idp.response({ nameId: 'u-2', inResponseTo: b.requestId });
    expect((await refusal(sp.verify(onlyAssertion, true))).reason).toBe('invalid_signature');
  });

  describe('refuses', () => {
    async function signedXml(over: Record<string, unknown> = {}, sp?: SamlServiceProvider) {
      const login = await solicitedLogin(sp);
      const xml = await idp.responseXml({
        nameId: 'alice@corp.example',
        nameIdFormat: NAMEID_EMAIL,
        inResponseTo: login.requestId,
        ...over,
      });
      return { ...login, xml };
    }

    it('a NameID changed after signing', async () => {
      const { sp, xml } = await signedXml();
      const r = await refusal(sp.verify(encode(tamperNameId(xml, 'admin@corp.example')), true));
      expect(r.reason).toBe('invalid_signature');
    });

    it('an unsigned assertion, even inside a signed response', async () => {
      const { sp, xml } = await signedXml();
      expect((await refusal(sp.verify(encode(stripSignatures(xml)), true))).reason).toBe(
        'invalid_signature',
      );
      const login = await solicitedLogin(sp);
      const responseOnly = await idp.response(
        { nameId: 'u', inResponseTo: login.requestId },
        { assertion: false, response: true },
      );
      expect((await refusal(sp.verify(responseOnly, true))).reason).toBe('invalid_signature');
    });

    it('signature wrapping: a forged assertion beside the signed one, or wrapping it', async () => {
      for (const wrap of [wrapSibling, wrapInside, wrapInExtensions]) {
        const { sp, xml } = await signedXml();
        const r = await refusal(sp.verify(encode(wrap(xml, 'admin@corp.example')), true));
        expect({ wrap: wrap.name, reason: r.reason }).toEqual({
          wrap: wrap.name,
          reason: 'invalid_signature',
        });
      }
    });

    it('a response re-signed with a certificate other than the pinned one', async () => {
      const { sp, requestId } = await solicitedLogin();
      const forged = await idp.response({ nameId: 'u', inResponseTo: requestId }, { key: 'other' });
      expect((await refusal(sp.verify(forged, true))).reason).toBe('invalid_signature');
    });

    it('two SignedInfo elements, and an HMAC keyed with the public certificate', async () => {
      const a = await signedXml();
      const twice = encode(duplicateSignedInfo(a.xml));
      expect((await refusal(a.sp.verify(twice, true))).reason).toBe('invalid_signature');
      const b = await signedXml();
      const hmac = encode(hmacWithCertificate(b.xml, idp.pinned.cert));
      expect((await refusal(b.sp.verify(hmac, true))).reason).toBe('invalid_signature');
    });

    it('expired, not yet valid, older than the maximum age, or for another audience', async () => {
      const past = new Date(Date.now() - 10 * 60_000);
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ issueInstant: past, notOnOrAfter: new Date(Date.now() - 2 * 60_000) }, 'expired'],
        [{ notBefore: new Date(Date.now() + 5 * 60_000) }, 'not_yet_valid'],
        [
          {
            issueInstant: new Date(Date.now() - 2 * 3600_000),
            notOnOrAfter: new Date(Date.now() + 3600_000),
          },
          'expired',
        ],
        [{ audience: 'https://someone-else.example/sp' }, 'wrong_audience'],
        [{ issuer: 'https://other-idp.example' }, 'wrong_issuer'],
        [{ recipient: 'https://someone-else.example/acs' }, 'wrong_recipient'],
      ];
      for (const [over, reason] of cases) {
        const { sp, xml } = await signedXml(over);
        const r = await refusal(sp.verify(encode(xml), true));
        expect({ over, reason: r.reason }).toEqual({ over, reason });
      }
    });

    it('accepts what is within the configured clock skew', async () => {
      const { sp, xml } = await signedXml({
        issueInstant: new Date(Date.now() - 5 * 60_000),
        notOnOrAfter: new Date(Date.now() - 30_000),
      });
      expect((await sp.verify(encode(xml), true)).nameId).toBe('alice@corp.example');
    });

    it('an InResponseTo this connection never sent, and an unsolicited response where one is required', async () => {
      const { sp } = await solicitedLogin();
      const wrong = await idp.response({ nameId: 'u', inResponseTo: '_not-ours' });
      expect((await refusal(sp.verify(wrong, true))).reason).toBe('in_response_to_invalid');
      const unsolicited = await idp.response({ nameId: 'u', inResponseTo: null });
      expect((await refusal(sp.verify(unsolicited, true))).reason).toBe('in_response_to_invalid');
      // Another connection's outstanding request does not count here.
      const other = make({ connectionId: '00000000-0000-4000-8000-000000000002' });
      const theirs = await solicitedLogin(other);
      const answer = await idp.response({ nameId: 'u', inResponseTo: theirs.requestId });
      expect((await refusal(sp.verify(answer, true))).reason).toBe('in_response_to_invalid');
    });

    it('a solicited assertion whose bearer confirmation names no request, or another one', async () => {
      const { sp, requestId } = await solicitedLogin();
      const none = await idp.response({
        nameId: 'u',
        inResponseTo: requestId,
        subjectInResponseTo: null,
      });
      const refused = await refusal(sp.verify(none, true));
      expect(refused.reason).toBe('in_response_to_invalid');
      expect(refused.message).toMatch(/SubjectConfirmationData/);
      const a = await solicitedLogin(sp);
      const b = await solicitedLogin(sp);
      const crossed = await idp.response({
        nameId: 'u',
        inResponseTo: a.requestId,
        subjectInResponseTo: b.requestId,
      });
      expect((await refusal(sp.verify(crossed, true))).reason).toBe('in_response_to_invalid');
    });

    it('a solicited response offered as unsolicited', async () => {
      const { sp, requestId } = await solicitedLogin();
      const answer = await idp.response({ nameId: 'u', inResponseTo: requestId });
      expect((await refusal(sp.verify(answer, false))).reason).toBe('in_response_to_invalid');
    });

    it('garbage: not XML, not a Response, no assertion', async () => {
      const sp = make();
      const reasons = [];
      for (const body of [
        'not base64 at all',
        encode('<x/>'),
        encode('<<<'),
        encode('<a>&x;</a>'),
      ]) {
        reasons.push((await refusal(sp.verify(body, true))).reason);
      }
      // `<x/>` parses, and the first check node-saml makes is that it answers our request.
      expect(reasons).toEqual([
        'invalid_response',
        'in_response_to_invalid',
        'invalid_response',
        'invalid_response',
      ]);
    });

    it('a signed response carrying a DOCTYPE with entities (expansion, external entities)', async () => {
      const { sp, xml } = await signedXml();
      const laughs = [`<!ENTITY a "${'a'.repeat(64)}">`];
      for (let i = 1; i < 8; i++)
        laughs.push(`<!ENTITY ${'a'.repeat(i + 1)} "${`&${'a'.repeat(i)};`.repeat(8)}">`);
      for (const dtd of [
        `<!DOCTYPE samlp:Response [${laughs.join('')}]>`,
        '<!DOCTYPE samlp:Response [<!ENTITY ext SYSTEM "file:///etc/passwd">]>',
      ]) {
        const withDtd = `${dtd}${xml.replace('>alice@corp.example<', '>&aaaaaaaa;&ext;<')}`;
        const started = Date.now();
        const r = await refusal(sp.verify(encode(withDtd), true));
        expect(['invalid_response', 'invalid_signature']).toContain(r.reason);
        expect(Date.now() - started).toBeLessThan(2000);
      }
    });
  });

  it('accepts an unsolicited (IdP-initiated) response on the unsolicited path', async () => {
    const sp = make();
    const response = await idp.response({ nameId: 'u-3', inResponseTo: null });
    expect((await sp.verify(response, false)).nameId).toBe('u-3');
  });

  it('reads a NameID split by a comment as the whole string (the signature does not cover comments)', async () => {
    const { sp, requestId } = await solicitedLogin();
    const xml = await idp.responseXml({
      nameId: 'admin@corp.com.evil.com',
      inResponseTo: requestId,
    });
    const commented = injectComment(xml, 'admin@corp.com'.length);
    expect(decode(encode(commented))).toContain('admin@corp.com<!---->.evil.com');
    expect((await sp.verify(encode(commented), true)).nameId).toBe('admin@corp.com.evil.com');
  });
});
