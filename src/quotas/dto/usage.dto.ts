import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, Max, Min } from 'class-validator';
import { GRANULARITIES, Granularity } from '../usage-recorder';

export class UsageQuery {
  /** Start (inclusive), ISO 8601. Default: 24 hours (hour) or 30 days (day) before `to`. */
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  /** End (exclusive), ISO 8601. Default: now. */
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;

  /** Default: hour. At most 744 hours (31 days) or 366 days per request. */
  @IsOptional()
  @IsIn(GRANULARITIES)
  @ApiProperty({ enum: GRANULARITIES, required: false })
  granularity?: Granularity;
}

export const LEADERBOARD_METRICS = [
  'requests',
  'searches',
  'vectorsWritten',
  'vectorsDeleted',
] as const;
export type LeaderboardMetric = (typeof LEADERBOARD_METRICS)[number];

export class LeaderboardQuery extends UsageQuery {
  /** What to rank tenants by. Default: requests. */
  @IsOptional()
  @IsIn(LEADERBOARD_METRICS)
  @ApiProperty({ enum: LEADERBOARD_METRICS, required: false })
  metric?: LeaderboardMetric;

  /** How many tenants. Default: 10. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}

export class UsagePoint {
  /** Start of the hour or day (UTC). */
  start!: string;
  requests!: number;
  /** Requests by endpoint class (search, upsert, fetch, delete, count, collections, keys, admin). */
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { search: 120, upsert: 4 },
  })
  requestsByEndpoint!: Record<string, number>;
  /** Requests by status class (2xx, 4xx, 5xx). */
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { '2xx': 124 },
  })
  requestsByStatus!: Record<string, number>;
  /** Successful searches. */
  searches!: number;
  vectorsWritten!: number;
  vectorsDeleted!: number;
  /** Peak stored bytes seen in the period (null: no flush saw it). */
  @ApiProperty({ type: 'integer', nullable: true })
  storedBytes!: number | null;
  /** Latency percentiles in ms: the upper bound of the histogram bucket (null: no requests). */
  @ApiProperty({ type: 'number', nullable: true })
  p50Ms!: number | null;
  @ApiProperty({ type: 'number', nullable: true })
  p95Ms!: number | null;
}

export class UsageSeries {
  tenantId!: string;
  @ApiProperty({ enum: GRANULARITIES })
  granularity!: Granularity;
  from!: string;
  to!: string;
  /** Only periods with activity. */
  points!: UsagePoint[];
}

export class LeaderboardEntry {
  tenantId!: string;
  slug!: string;
  value!: number;
}

export class Leaderboard {
  @ApiProperty({ enum: LEADERBOARD_METRICS })
  metric!: LeaderboardMetric;
  from!: string;
  to!: string;
  items!: LeaderboardEntry[];
}
