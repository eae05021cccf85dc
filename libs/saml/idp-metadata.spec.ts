import { makeKeyPair, TestSamlIdp } from '../../test/support/saml-idp';
import { normalizeCertificate, SamlConfigError } from './certificates';
import { MAX_METADATA_CHARS, parseIdpMetadata } from './idp-metadata';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

function body(pem: string): string {
  return pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
}

function metadata(opts: {
  entityId?: string;
  services?: Array<[string, string]>;
  keys?: Array<[string | null, string]>;
  wrap?: boolean;
}): string {
  const keys = (opts.keys ?? [])
    .map(
      ([use, pem]) =>
        `<md:KeyDescriptor${use ? ` use="${use}"` : ''}><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${body(pem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
    )
    .join('');
  const services = (opts.services ?? [[REDIRECT, 'https://idp.example/sso']])
    .map(([b, l]) => `<md:SingleSignOnService Binding="${b}" Location="${l}"/>`)
    .join('');
  const entity = `<md:EntityDescriptor xmlns:md="${MD}" entityID="${opts.entityId ?? 'https://idp.example/meta'}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${keys}${services}</md:IDPSSODescriptor></md:EntityDescriptor>`;
  return opts.wrap
    ? `<md:EntitiesDescriptor xmlns:md="${MD}">${entity}</md:EntitiesDescriptor>`
    : entity;
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SamlConfigError);
    expect((err as SamlConfigError).path).toBe('idpMetadataXml');
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('parseIdpMetadata', () => {
  const a = makeKeyPair('IdP A');
  const b = makeKeyPair('IdP B');
  const enc = makeKeyPair('IdP encryption');

  it("reads samlify's own IdP metadata: entity ID, redirect SSO location, signing certificate", () => {
    const idp = new TestSamlIdp('https://idp.corp.example/entity', 'https://idp.corp.example/sso');
    expect(parseIdpMetadata(idp.metadataXml())).toEqual({
      entityId: 'https://idp.corp.example/entity',
      ssoUrl: 'https://idp.corp.example/sso',
      certificates: [normalizeCertificate(idp.pinned.cert)],
    });
  });

  it('takes signing and unmarked keys, skips encryption keys, deduplicates, keeps order', () => {
    const parsed = parseIdpMetadata(
      metadata({
        keys: [
          ['encryption', enc.cert],
          ['signing', a.cert],
          [null, b.cert],
          ['signing', a.cert],
        ],
        services: [
          [POST, 'https://idp.example/post'],
          [REDIRECT, 'https://idp.example/redirect'],
        ],
        wrap: true,
      }),
    );
    expect(parsed.certificates).toEqual([
      normalizeCertificate(a.cert),
      normalizeCertificate(b.cert),
    ]);
    expect(parsed.ssoUrl).toBe('https://idp.example/redirect');
  });

  it('refuses a DOCTYPE or entities, before parsing', () => {
    const good = metadata({ keys: [['signing', a.cert]] });
    expect(refusal(() => parseIdpMetadata(`<!DOCTYPE x [<!ENTITY e "boom">]>${good}`))).toMatch(
      /DOCTYPE/,
    );
    expect(
      refusal(() =>
        parseIdpMetadata(`<?xml version="1.0"?><!doctype x SYSTEM "file:///etc/passwd">${good}`),
      ),
    ).toMatch(/DOCTYPE/);
  });

  it('refuses metadata without a signing certificate, without redirect SSO, or describing no single IdP', () => {
    expect(refusal(() => parseIdpMetadata(metadata({ keys: [['encryption', enc.cert]] })))).toMatch(
      /no signing certificate/,
    );
    expect(
      refusal(() =>
        parseIdpMetadata(
          metadata({ keys: [['signing', a.cert]], services: [[POST, 'https://idp.example/p']] }),
        ),
      ),
    ).toMatch(/only over HTTP-POST/);
    expect(
      refusal(() =>
        parseIdpMetadata(
          metadata({ keys: [['signing', a.cert]], services: [[REDIRECT, 'javascript:alert(1)']] }),
        ),
      ),
    ).toMatch(/not an http/);
    const two = metadata({ keys: [['signing', a.cert]] });
    expect(
      refusal(() =>
        parseIdpMetadata(
          `<md:EntitiesDescriptor xmlns:md="${MD}">${two}${two}</md:EntitiesDescriptor>`,
        ),
      ),
    ).toMatch(/several/);
    expect(
      refusal(() => parseIdpMetadata(metadata({ entityId: '', keys: [['signing', a.cert]] }))),
    ).toMatch(/entityID/);
  });

  it('refuses garbage, non-metadata XML, a broken certificate, and huge input', () => {
    expect(refusal(() => parseIdpMetadata('hello'))).toMatch(/not (well-formed|SAML)/);
    expect(refusal(() => parseIdpMetadata('<md:EntityDescriptor xmlns:md="x"'))).toMatch(
      /not (well-formed|SAML)/,
    );
    expect(refusal(() => parseIdpMetadata('<root/>'))).toMatch(/not SAML 2.0 metadata/);
    expect(refusal(() => parseIdpMetadata(''))).toMatch(/empty/);
    expect(
      refusal(() =>
        parseIdpMetadata(
          metadata({
            keys: [['signing', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----']],
          }),
        ),
      ),
    ).toMatch(/X.509/);
    const huge = metadata({ keys: [['signing', a.cert]] }).replace(
      '<md:IDPSSODescriptor',
      `<!--${'x'.repeat(MAX_METADATA_CHARS)}--><md:IDPSSODescriptor`,
    );
    expect(refusal(() => parseIdpMetadata(huge))).toMatch(/larger than/);
  });
});

describe('normalizeCertificate', () => {
  const a = makeKeyPair('IdP A');

  it('takes PEM or the bare base64 of metadata and returns the same PEM', () => {
    const pem = normalizeCertificate(a.cert);
    expect(pem).toMatch(
      /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----\n$/,
    );
    expect(normalizeCertificate(body(a.cert))).toBe(pem);
  });

  it('refuses a private key, text, nothing, and an Ed25519 certificate', () => {
    expect(() => normalizeCertificate(a.key)).toThrow(SamlConfigError);
    expect(() => normalizeCertificate('not a cert')).toThrow(SamlConfigError);
    expect(() => normalizeCertificate('')).toThrow(SamlConfigError);
    expect(() => normalizeCertificate(makeKeyPair('Edwards', 'ed25519').cert)).toThrow(
      /ed25519 key/,
    );
  });
});
