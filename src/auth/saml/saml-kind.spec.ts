import { normalizeCertificate } from '@libs/saml';
import { makeKeyPair, TestSamlIdp } from '../../../test/support/saml-idp';
import { AppException } from '@app/common/errors/app-exception';
import { identityOf } from './saml-login.service';
import { SAML_KIND, type SamlConfig } from './saml-kind';

const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

function fieldError(fn: () => unknown): { path: string; message: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppException);
    const e = err as AppException;
    expect(e.code).toBe('validation_failed');
    return (e.extra.errors as Array<{ path: string; message: string }>)[0];
  }
  throw new Error('accepted');
}

describe('SAML_KIND', () => {
  const idp = new TestSamlIdp('https://idp.example/e', 'https://idp.example/sso');
  const extra = makeKeyPair('Next year');
  const ctx = { allowHttp: false };

  it('builds the config from metadata with the defaults', () => {
    expect(SAML_KIND.build({ idpMetadataXml: idp.metadataXml() }, undefined, ctx)).toEqual({
      idpEntityId: 'https://idp.example/e',
      idpSsoUrl: 'https://idp.example/sso',
      idpCertificates: [normalizeCertificate(idp.pinned.cert)],
      wantResponseSigned: false,
      allowIdpInitiated: false,
      emailAttribute: 'email',
      nameAttribute: 'displayName',
      groupsAttribute: 'groups',
    });
  });

  it('on update, changes what is given and keeps the rest', () => {
    const current = SAML_KIND.build(
      { idpMetadataXml: idp.metadataXml(), groupsAttribute: 'memberOf' },
      undefined,
      ctx,
    ) as SamlConfig;
    const rotated = SAML_KIND.build(
      { idpCertificates: [idp.pinned.cert, extra.cert, idp.pinned.cert] },
      current,
      ctx,
    ) as SamlConfig;
    expect(rotated).toEqual({
      ...current,
      idpCertificates: [normalizeCertificate(idp.pinned.cert), normalizeCertificate(extra.cert)],
    });
    const flags = SAML_KIND.build({ allowIdpInitiated: true }, rotated, ctx);
    expect(flags).toEqual({ ...rotated, allowIdpInitiated: true });
  });

  it('names the field at fault', () => {
    expect(fieldError(() => SAML_KIND.build({}, undefined, ctx)).path).toBe('idpEntityId');
    expect(
      fieldError(() =>
        SAML_KIND.build(
          { idpEntityId: 'e', idpSsoUrl: 'https://i/sso', idpCertificates: ['x', idp.pinned.cert] },
          undefined,
          ctx,
        ),
      ).path,
    ).toBe('idpCertificates.0');
    expect(
      fieldError(() =>
        SAML_KIND.build(
          { idpEntityId: 'e', idpSsoUrl: 'http://i/sso', idpCertificates: [idp.pinned.cert] },
          undefined,
          ctx,
        ),
      ).path,
    ).toBe('idpSsoUrl');
    expect(
      fieldError(() =>
        SAML_KIND.build(
          { idpMetadataXml: idp.metadataXml(), idpSsoUrl: 'https://x' },
          undefined,
          ctx,
        ),
      ),
    ).toEqual({ path: 'idpSsoUrl', message: expect.stringMatching(/not both/) });
    expect(fieldError(() => SAML_KIND.build({ idpMetadataXml: '<x' }, undefined, ctx)).path).toBe(
      'idpMetadataXml',
    );
  });

  it('takes http SSO URLs only when told to', () => {
    const input = {
      idpEntityId: 'e',
      idpSsoUrl: 'http://i/sso',
      idpCertificates: [idp.pinned.cert],
    };
    expect(SAML_KIND.build(input, undefined, { allowHttp: true })).toMatchObject({
      idpSsoUrl: 'http://i/sso',
    });
  });

  it('shows the URLs to register at the IdP', () => {
    const config = SAML_KIND.build(
      { idpMetadataXml: idp.metadataXml() },
      undefined,
      ctx,
    ) as SamlConfig;
    expect(
      SAML_KIND.view(config, { baseUrl: 'https://q/v1/auth/acme/c1', secretSet: false }),
    ).toMatchObject({
      spEntityId: 'https://q/v1/auth/acme/c1/metadata',
      metadataUrl: 'https://q/v1/auth/acme/c1/metadata',
      callbackUrl: 'https://q/v1/auth/acme/c1/callback',
    });
  });
});

describe('identityOf (SAML)', () => {
  const config = SAML_KIND.build(
    { idpMetadataXml: new TestSamlIdp().metadataXml(), emailAttribute: 'mail' },
    undefined,
    { allowHttp: false },
  ) as SamlConfig;
  const assertion = (over: object) => ({
    assertionId: '_a',
    nameId: 'n-1',
    nameIdFormat: null,
    inResponseTo: null,
    usableUntil: 0,
    attributes: {},
    ...over,
  });

  it('reads the configured attributes; groups are every value; the email never counts as verified', () => {
    expect(
      identityOf(
        config,
        assertion({
          attributes: {
            mail: ['', ' ann@corp.example '],
            displayName: ['Ann'],
            groups: ['a', '', 'b'],
          },
        }),
      ),
    ).toEqual({
      subject: 'n-1',
      email: 'ann@corp.example',
      emailVerified: false,
      displayName: 'Ann',
      groups: ['a', 'b'],
    });
  });

  it('falls back to an email-format NameID, and to nothing otherwise', () => {
    expect(
      identityOf(config, assertion({ nameId: 'x@y.example', nameIdFormat: EMAIL_FORMAT })).email,
    ).toBe('x@y.example');
    expect(identityOf(config, assertion({ nameId: 'x@y.example' })).email).toBeNull();
  });
});
