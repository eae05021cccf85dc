import { ApiProperty, ApiPropertyOptional, IntersectionType, PartialType } from '@nestjs/swagger';
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
import { SSO_KINDS, type SsoKind } from '../sso/sso-kind-registry';
import { LdapConnectionFields, LdapConnectionView } from './ldap-connection.dto';
import { OidcConnectionFields, OidcConnectionView, URL_OPTIONS } from './oidc-connection.dto';
import { SamlConnectionFields, SamlConnectionView } from './saml-connection.dto';

export class RoleMappingDto {
  /** A group name as the identity provider sends it. @example "quiver-admins" */
  @IsString()
  @Length(1, 256)
  group!: string;

  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES)
  role!: Role;
}

/** Fields every kind of connection has; which are required depends on the kind. */
export class SsoCommonFields {
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

  /** Where a finished browser login may send the user: the login's `redirect` must equal one exactly. */
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  @ArrayUnique()
  @IsUrl(URL_OPTIONS, { each: true })
  redirectUris?: string[];

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

/** Every kind's own fields; a connection takes only those of its kind (others are refused). */
class SsoKindFields extends IntersectionType(
  OidcConnectionFields,
  SamlConnectionFields,
  LdapConnectionFields,
) {}

export class CreateSsoConnectionDto extends IntersectionType(SsoCommonFields, SsoKindFields) {
  @ApiProperty({ enum: SSO_KINDS })
  @IsIn(SSO_KINDS)
  kind!: SsoKind;
}

export class UpdateSsoConnectionDto extends IntersectionType(SsoCommonFields, SsoKindFields) {}

class SsoConnectionCommonView {
  id!: string;
  @ApiProperty({ enum: SSO_KINDS })
  kind!: SsoKind;
  name!: string;
  enabled!: boolean;
  redirectUris!: string[];
  roleMapping!: RoleMappingDto[];
  @ApiProperty({ enum: ROLES, nullable: true })
  defaultRole!: Role | null;
  /** Where sign-in starts (browser kinds: GET with ?redirect=<one of redirectUris>). */
  loginUrl!: string;
  createdAt!: string;
  updatedAt!: string;
}

/** A connection: the common fields and those of its kind (a kind's fields appear only on its own). */
export class SsoConnectionView extends IntersectionType(
  SsoConnectionCommonView,
  PartialType(OidcConnectionView),
  PartialType(SamlConnectionView),
  PartialType(LdapConnectionView),
) {}

export class SsoConnectionList {
  items!: SsoConnectionView[];
}
