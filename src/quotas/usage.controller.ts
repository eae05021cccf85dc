import { Controller, Get, Header, Param, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { TenantContext } from '@app/common/context/tenant-context';
import { ProblemDto } from '@app/common/errors/problem.dto';
import { PlatformAdmin, RateLimitClass, RequireScopes } from '@app/gateway/access.decorators';
import { Leaderboard, LeaderboardQuery, UsageQuery, UsageSeries } from './dto/usage.dto';
import { UsageService } from './usage.service';

/** Tenant admin API: the tenant's own usage over time. */
@ApiTags('quotas')
@RequireScopes('usage:read')
@RateLimitClass('admin')
@Controller('usage')
export class UsageController {
  constructor(
    private readonly usage: UsageService,
    private readonly context: TenantContext,
  ) {}

  @ApiOperation({ summary: 'Usage per hour or day: requests, searches, vectors, bytes, latency' })
  @Get()
  get(@Query() query: UsageQuery): Promise<UsageSeries> {
    return this.usage.series(this.context.tenantId, query, { require: 'exists' });
  }
}

/** Platform admin API: any tenant's usage, the leaderboard, the billing export. */
@ApiTags('platform: usage')
@PlatformAdmin()
@Controller('admin')
export class PlatformUsageController {
  constructor(private readonly usage: UsageService) {}

  @ApiOperation({ summary: "A tenant's usage per hour or day" })
  @ApiNotFoundResponse({ description: 'No such tenant', type: ProblemDto })
  @Get('tenants/:tenantId/usage')
  tenant(@Param('tenantId') tenantId: string, @Query() query: UsageQuery): Promise<UsageSeries> {
    return this.usage.series(tenantId, query, { require: 'exists' });
  }

  @ApiOperation({ summary: 'Tenants ranked by requests, searches or vectors over a window' })
  @Get('usage/leaderboard')
  leaderboard(@Query() query: LeaderboardQuery): Promise<Leaderboard> {
    return this.usage.leaderboard(query);
  }

  @ApiOperation({ summary: "Every tenant's usage as CSV, for billing" })
  @ApiProduces('text/csv')
  @Header('content-type', 'text/csv; charset=utf-8')
  @Header('content-disposition', 'attachment; filename="quiver-usage.csv"')
  @Get('usage/export')
  export(@Query() query: UsageQuery): Promise<string> {
    return this.usage.exportCsv(query);
  }
}
