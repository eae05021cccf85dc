import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUrl, Length } from 'class-validator';

/** ID-token signature algorithms a connection may pin (never `none`, never HMAC with a shared secret). */
export const ID_TOKEN_ALGS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'ES256',
  'ES384',
  'EdDSA',
] as const;

export const URL_OPTIONS = {
  require_tld: false,
  require_protocol: true,
  protocols: ['https', 'http'],
};

/** OIDC connections (kind `oidc`): issuer and clientId are required when creating. */
export class OidcConnectionFields {
  /** The OpenID Provider's issuer; discovery reads `<issuer>/.well-known/openid-configuration`. */
  @IsOptional()
  @IsUrl(URL_OPTIONS)
  @Length(1, 500)
  issuer?: string;

  @IsOptional()
  @IsString()
  @Length(1, 256)
  clientId?: string;

  /** Write-only: stored encrypted, never returned. */
  @IsOptional()
  @IsString()
  @Length(1, 1024)
  clientSecret?: string;

  /** The ID-token signature algorithm to accept (pinned). Default RS256. */
  @ApiPropertyOptional({ enum: ID_TOKEN_ALGS })
  @IsOptional()
  @IsIn(ID_TOKEN_ALGS)
  idTokenAlg?: (typeof ID_TOKEN_ALGS)[number];

  /** The claim holding group names (default `groups`). */
  @IsOptional()
  @IsString()
  @Length(1, 100)
  groupsClaim?: string;
}

/** What an OIDC connection shows (the client secret never). */
export class OidcConnectionView {
  issuer!: string;
  clientId!: string;
  /** Whether a client secret is stored (it is never returned). */
  clientSecretSet!: boolean;
  @ApiPropertyOptional({ enum: ID_TOKEN_ALGS })
  idTokenAlg!: string;
  groupsClaim!: string;
  /**
   * The URL to register at the identity provider (exact): OIDC's redirect URI, SAML's Assertion
   * Consumer Service.
   */
  callbackUrl!: string;
}
