import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';

export class RotateKeyDto {
  /**
   * How long the old secret keeps working after the rotation, in seconds (0 ends it at once, at most
   * 30 days). Only one previous secret is kept: rotating again ends the previous one's grace early.
   * @example 3600
   */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(30 * 24 * 3600)
  gracePeriodSeconds?: number;
}

export class SigningSecretDto extends RotateKeyDto {
  /** Also set whether unsigned requests made with this key are refused. */
  @IsOptional()
  @IsBoolean()
  requireSignature?: boolean;
}
