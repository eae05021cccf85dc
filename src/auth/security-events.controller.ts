import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, Max, Min } from 'class-validator';
import { TenantContext } from '@app/common/context/tenant-context';
import { Db } from '@app/database/db';
import { RateLimitClass, RequireScopes } from '@app/gateway/access.decorators';

/** The event types this endpoint serves: sign-ins and the gateway's refusals. */
export const SECURITY_EVENT_TYPES = [
  'auth.login_succeeded',
  'auth.login_failed',
  'auth.logout',
  'auth.refresh_reused',
  'security.ip_denied',
] as const;

export class SecurityEventsQuery {
  @ApiPropertyOptional({ enum: SECURITY_EVENT_TYPES })
  @IsOptional()
  @IsIn(SECURITY_EVENT_TYPES)
  type?: (typeof SECURITY_EVENT_TYPES)[number];

  /** Events at or after this instant (RFC 3339). */
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  /** Events before this instant (RFC 3339). */
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;

  /** Newest first; at most 500. @example 100 */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}

export class SecurityEventView {
  id!: string;
  @ApiProperty({ enum: SECURITY_EVENT_TYPES })
  type!: string;
  occurredAt!: string;
  requestId!: string | null;
  /** Who, how and from where: userId, method, connection, ip, outcome, reason. */
  @ApiProperty({ type: 'object', additionalProperties: true })
  data!: Record<string, unknown>;
}

export class SecurityEventList {
  items!: SecurityEventView[];
}

/** Tenant admins and auditors read the tenant's security events (logins, failures, refusals). */
@ApiTags('security')
@Controller('security-events')
export class SecurityEventsController {
  constructor(
    private readonly db: Db,
    private readonly context: TenantContext,
  ) {}

  @ApiOperation({ summary: 'Security events of the tenant, newest first' })
  @RequireScopes('security:read')
  @RateLimitClass('read')
  @Get()
  async list(@Query() q: SecurityEventsQuery): Promise<SecurityEventList> {
    const rows = await this.db.tenant(this.context.tenantId, (tx) =>
      tx.query<{
        id: string;
        type: string;
        occurred_at: Date;
        request_id: string | null;
        data: Record<string, unknown>;
      }>(
        `SELECT id, type, occurred_at, request_id, data FROM outbox
          WHERE type = ANY($1) AND ($2::timestamptz IS NULL OR occurred_at >= $2)
            AND ($3::timestamptz IS NULL OR occurred_at < $3)
          ORDER BY occurred_at DESC, id LIMIT $4`,
        [
          q.type ? [q.type] : [...SECURITY_EVENT_TYPES],
          q.from ?? null,
          q.to ?? null,
          q.limit ?? 100,
        ],
      ),
    );
    return {
      items: rows.map((r) => ({
        id: r.id,
        type: r.type,
        occurredAt: r.occurred_at.toISOString(),
        requestId: r.request_id,
        data: r.data,
      })),
    };
  }
}
