import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class ListTenantsQuery {
  /** Page size. @example 50 */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  /** Opaque cursor from the previous page's nextCursor. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;

  /** Only tenants in this state. */
  @IsOptional()
  @IsIn(['active', 'suspended', 'pending_deletion'])
  status?: 'active' | 'suspended' | 'pending_deletion';
}

export class DeleteTenantQuery {
  /** `now` purges at once instead of after the grace period. */
  @IsOptional()
  @IsIn(['now'])
  purge?: 'now';
}
