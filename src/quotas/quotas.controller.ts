import { Controller, Get, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { TenantContext } from '@app/common/context/tenant-context';
import { ProblemDto } from '@app/common/errors/problem.dto';
import { PlatformAdmin, RateLimitClass, RequireScopes } from '@app/gateway/access.decorators';
import { QuotaView } from './dto/quota.response';
import { QuotasService } from './quotas.service';

/** Tenant admin API: the tenant's own limits and usage. */
@ApiTags('quotas')
@RequireScopes('usage:read')
@RateLimitClass('admin')
@Controller('quotas')
export class QuotasController {
  constructor(
    private readonly quotas: QuotasService,
    private readonly context: TenantContext,
  ) {}

  @ApiOperation({ summary: 'Effective limits (plan merged with overrides) and current usage' })
  @Get()
  get(): Promise<QuotaView> {
    return this.quotas.view(this.context.tenantId, { require: 'exists' });
  }
}

/** Platform admin API: any tenant's limits and usage. */
@ApiTags('platform: tenants')
@PlatformAdmin()
@Controller('admin/tenants')
export class TenantQuotasController {
  constructor(private readonly quotas: QuotasService) {}

  @ApiOperation({ summary: "A tenant's effective limits and current usage" })
  @ApiNotFoundResponse({ description: 'No such tenant', type: ProblemDto })
  @Get(':tenantId/quotas')
  get(@Param('tenantId') tenantId: string): Promise<QuotaView> {
    return this.quotas.view(tenantId, { require: 'exists' });
  }
}
