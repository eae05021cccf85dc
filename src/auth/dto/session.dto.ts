import { IsString, MaxLength, MinLength } from 'class-validator';

export class LocalLoginDto {
  /** @example "ada@acme.example" */
  @IsString()
  @MinLength(1)
  @MaxLength(320)
  email!: string;

  @IsString()
  @MaxLength(1024)
  password!: string;
}

export class RefreshDto {
  /** The refresh token of the last login or refresh (single use). */
  @IsString()
  @MaxLength(256)
  refreshToken!: string;
}

export class TokenPairView {
  /** @example "Bearer" */
  tokenType!: 'Bearer';
  /** An ES256 JWT; send it as `Authorization: Bearer <accessToken>`. */
  accessToken!: string;
  /** Seconds until the access token expires. @example 900 */
  expiresIn!: number;
  /** Single use: each refresh returns the next one. */
  refreshToken!: string;
  refreshExpiresAt!: string;
}
