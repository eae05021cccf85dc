import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsDateString,
  IsIn,
  IsOptional,
  IsString,
  Length,
  Matches,
} from 'class-validator';
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
}
