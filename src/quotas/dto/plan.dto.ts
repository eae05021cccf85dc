import { Type } from 'class-transformer';
import {
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { ApiProperty } from '@nestjs/swagger';
import { MAX_LIMIT, PLAN_NAME_RE } from '../limits';

/** Required, but may be null (unlimited). */
const Limit = () => (target: object, key: string) => {
  ValidateIf((o: Record<string, unknown>) => o[key] !== null)(target, key);
  IsInt()(target, key);
  Min(0)(target, key);
  Max(MAX_LIMIT)(target, key);
  ApiProperty({ type: 'integer', nullable: true, minimum: 0 })(target, key);
};

/** Optional; when present, a whole number or null (unlimited). */
const OptionalLimit = () => (target: object, key: string) => {
  ValidateIf((o: Record<string, unknown>) => o[key] !== null && o[key] !== undefined)(target, key);
  IsInt()(target, key);
  Min(0)(target, key);
  Max(MAX_LIMIT)(target, key);
  ApiProperty({ type: 'integer', nullable: true, minimum: 0, required: false })(target, key);
};

/** Every limit of a plan; null means unlimited. */
export class PlanLimitsDto {
  /** Collections a tenant may have. */
  @Limit() collections!: number | null;
  /** Vectors across all of a tenant's collections. */
  @Limit() vectors!: number | null;
  /** The largest dimension a new collection may have. */
  @Limit() dimensionsPerCollection!: number | null;
  /** Bytes stored: 4 per dimension of every vector, plus its metadata as JSON text. */
  @Limit() storedBytes!: number | null;
  /** Requests per day: stored for the rate limiter, which does not read it yet (PLAN_RATE_LIMITS). */
  @Limit() requestsPerDay!: number | null;
  /** Searches per second: stored for the rate limiter, which does not read it yet (PLAN_RATE_LIMITS). */
  @Limit() searchesPerSecond!: number | null;
  /** API keys that are not revoked. */
  @Limit() apiKeys!: number | null;
  /** Webhook endpoints (stored; enforced once webhooks exist). */
  @Limit() webhookEndpoints!: number | null;
}

/** Some limits of a plan; those not sent keep their value. */
export class PlanLimitsPatchDto {
  @OptionalLimit() collections?: number | null;
  @OptionalLimit() vectors?: number | null;
  @OptionalLimit() dimensionsPerCollection?: number | null;
  @OptionalLimit() storedBytes?: number | null;
  @OptionalLimit() requestsPerDay?: number | null;
  @OptionalLimit() searchesPerSecond?: number | null;
  @OptionalLimit() apiKeys?: number | null;
  @OptionalLimit() webhookEndpoints?: number | null;
}

export class CreatePlanDto {
  /** Lowercase letters, digits, hyphens, underscores; immutable. @example "team" */
  @IsString()
  @Matches(PLAN_NAME_RE, {
    message:
      'name must be 1-63 lowercase letters, digits, hyphens or underscores, starting and ending with a letter or digit',
  })
  name!: string;

  /** @example "Teams of up to 20" */
  @IsOptional()
  @IsString()
  @Length(0, 500)
  description?: string;

  @IsObject()
  @ValidateNested()
  @Type(() => PlanLimitsDto)
  limits!: PlanLimitsDto;
}

export class UpdatePlanDto {
  @IsOptional()
  @IsString()
  @Length(0, 500)
  description?: string;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => PlanLimitsPatchDto)
  limits?: PlanLimitsPatchDto;
}

export class PlanView {
  /** @example "pro" */
  name!: string;
  description!: string;
  limits!: PlanLimitsDto;
  /** Tenants on this plan. */
  tenantCount!: number;
  createdAt!: string;
  updatedAt!: string;
}

export class PlanList {
  items!: PlanView[];
}
