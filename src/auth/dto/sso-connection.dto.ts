import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  IsUrl,
  Length,
  Matches,
  ValidateNested,
} from 'class-validator';
import { ROLES, type Role } from '../roles';

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

const URL_OPTIONS = { require_tld: false, require_protocol: true, protocols: ['https', 'http'] };

export class RoleMappingDto {
  /** A value of the groups claim. @example "quiver-admins" */
  @IsString()
  @Length(1, 256)
  group!: string;

  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES)
  role!: Role;
}

/** name, issuer, clientId and redirectUris are required when creating. */
class SsoConnectionFields {
  /** @example "Okta (corp)" */
  @IsOptional()
  @IsString()
  @Length(1, 100)
  @Matches(/^[^\p{Cc}]+$/u, { message: 'name must not contain control characters' })
  name?: string;

  /** Off: logins through it are refused; its users keep their other ways in. */
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

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

  /** Where a finished login may send the user: the login's `redirect` must equal one exactly. */
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  @ArrayUnique()
  @IsUrl(URL_OPTIONS, { each: true })
  redirectUris?: string[];

  /** The claim holding group names (default `groups`). */
  @IsOptional()
  @IsString()
  @Length(1, 100)
  groupsClaim?: string;

  /** Group -> role, the first matching entry in this order wins. */
  @IsOptional()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => RoleMappingDto)
  roleMapping?: RoleMappingDto[];

  /** The role when no group matches; null: such logins are refused. */
  @ApiPropertyOptional({ enum: ROLES, nullable: true })
  @IsOptional()
  @IsIn([...ROLES, null])
  defaultRole?: Role | null;
}

export class CreateSsoConnectionDto extends SsoConnectionFields {
  @ApiProperty({ enum: ['oidc'] })
  @IsIn(['oidc'])
  kind!: 'oidc';
}

export class UpdateSsoConnectionDto extends SsoConnectionFields {}

export class SsoConnectionView {
  id!: string;
  @ApiProperty({ enum: ['oidc'] })
  kind!: 'oidc';
  name!: string;
  enabled!: boolean;
  issuer!: string;
  clientId!: string;
  /** Whether a client secret is stored (it is never returned). */
  clientSecretSet!: boolean;
  @ApiProperty({ enum: ID_TOKEN_ALGS })
  idTokenAlg!: string;
  redirectUris!: string[];
  groupsClaim!: string;
  roleMapping!: RoleMappingDto[];
  @ApiProperty({ enum: ROLES, nullable: true })
  defaultRole!: Role | null;
  /** Where to send people to sign in (append ?redirect=<one of redirectUris>). */
  loginUrl!: string;
  /** The redirect URI to register at the identity provider (exact). */
  callbackUrl!: string;
  createdAt!: string;
  updatedAt!: string;
}

export class SsoConnectionList {
  items!: SsoConnectionView[];
}
