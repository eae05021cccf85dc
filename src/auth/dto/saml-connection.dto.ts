import {
  ArrayMaxSize,
  ArrayMinSize,
  IsBoolean,
  IsOptional,
  IsString,
  IsUrl,
  Length,
  MaxLength,
} from 'class-validator';
import { MAX_IDP_CERTIFICATES, MAX_METADATA_CHARS } from '@libs/saml';
import { URL_OPTIONS } from './oidc-connection.dto';

/**
 * SAML 2.0 connections (kind `saml`). Give the IdP either as its metadata XML (`idpMetadataXml`) or
 * as `idpEntityId`, `idpSsoUrl` and `idpCertificates`; not both.
 */
export class SamlConnectionFields {
  /**
   * The IdP's SAML 2.0 metadata (an EntityDescriptor): its entity ID, HTTP-Redirect SSO location and
   * signing certificates are read from it. Write-only: the parsed values are stored.
   */
  @IsOptional()
  @IsString()
  @MaxLength(MAX_METADATA_CHARS)
  idpMetadataXml?: string;

  /** The IdP's entity ID: assertions must carry it as their Issuer. */
  @IsOptional()
  @IsString()
  @Length(1, 1024)
  idpEntityId?: string;

  /** Where AuthnRequests go (the IdP's SingleSignOnService for the HTTP-Redirect binding). */
  @IsOptional()
  @IsUrl(URL_OPTIONS)
  @Length(1, 2048)
  idpSsoUrl?: string;

  /**
   * The IdP signing certificates (PEM or base64 DER) signatures must verify with: pinned. Two
   * during a rollover; at most four.
   */
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_IDP_CERTIFICATES)
  @IsString({ each: true })
  @MaxLength(16_384, { each: true })
  idpCertificates?: string[];

  /** Require a signature over the whole Response too (the assertion's is always required). Default false. */
  @IsOptional()
  @IsBoolean()
  wantResponseSigned?: boolean;

  /**
   * Accept unsolicited (IdP-initiated) responses, landing on the first redirect URI (or the
   * RelayState when it equals one exactly). Default false: such logins cannot be tied to a browser.
   */
  @IsOptional()
  @IsBoolean()
  allowIdpInitiated?: boolean;

  /** The attribute holding the email (default `email`; the NameID when it is an email and this is absent). */
  @IsOptional()
  @IsString()
  @Length(1, 256)
  emailAttribute?: string;

  /** The attribute holding the display name (default `displayName`). */
  @IsOptional()
  @IsString()
  @Length(1, 256)
  nameAttribute?: string;

  /** The attribute holding group names, one value per group (default `groups`). */
  @IsOptional()
  @IsString()
  @Length(1, 256)
  groupsAttribute?: string;
}

/** What a SAML connection shows (certificates are public; nothing here is secret). */
export class SamlConnectionView {
  idpEntityId!: string;
  idpSsoUrl!: string;
  /** The pinned IdP signing certificates (PEM). */
  idpCertificates!: string[];
  wantResponseSigned!: boolean;
  allowIdpInitiated!: boolean;
  emailAttribute!: string;
  nameAttribute!: string;
  groupsAttribute!: string;
  /** Our entity ID, to register at the IdP (it is also the metadata URL). */
  spEntityId!: string;
  /** Our SP metadata XML, for the IdP to import. */
  metadataUrl!: string;
}
