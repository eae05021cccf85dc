import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsBoolean,
  IsArray,
  IsDateString,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
} from 'class-validator';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { SCOPES, Scope } from '../scopes';

export class CreateKeyDto {
  /**
   * A label for people: what uses this key.
   * @example "search-service (prod)"
   */
  @IsString()
  @Length(1, 100)
  @Matches(/^[^\p{Cc}]+$/u, { message: 'name must not contain control characters' })
  name!: string;

  /**
   * What the key may do. `tenant:admin` includes every other scope.
   * @example ["vectors:read", "vectors:write"]
   */
  @ArrayMinSize(1)
  @ArrayMaxSize(SCOPES.length)
  @ArrayUnique()
  @IsIn(SCOPES, { each: true })
  scopes!: Scope[];

  /**
   * When the key stops working (RFC 3339, in the future). Omit for a key that does not expire.
   * @example "2027-01-01T00:00:00Z"
   */
  @IsOptional()
  @IsDateString({ strict: true, strictSeparator: true })
  expiresAt?: string;

  /**
   * Addresses or CIDRs (IPv4, IPv6) this key may be used from, on top of the tenant's allowlist.
   * Fixed for the key's life: issue a new key to change it.
   * @example ["203.0.113.0/24", "2001:db8::/48"]
   */
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsString({ each: true })
  allowedIps?: string[];

  /**
   * Collections this key may reach (all when omitted). Fixed for the key's life.
   * @example ["products"]
   */
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ArrayUnique()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
    each: true,
    message: 'each collection must be a collection name',
  })
  collections?: string[];

  /**
   * A metadata filter the server ANDs into every search, fetch, count and delete made with this
   * key; upserts must produce rows that match it and cannot overwrite rows that do not. A request
   * cannot widen it. Fixed for the key's life.
   * @example {"customerId": "c-123"}
   */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @IsObject()
  filter?: Record<string, unknown>;

  /** Also issue a request-signing secret (RFC 9421, hmac-sha256), shown once in the response. */
  @IsOptional()
  @IsBoolean()
  signing?: boolean;

  /** Refuse unsigned requests made with this key (needs `signing`). */
  @IsOptional()
  @IsBoolean()
  requireSignature?: boolean;
}
