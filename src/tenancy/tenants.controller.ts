import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOperation,
  ApiPreconditionFailedResponse,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ProblemDto } from '@app/common/errors/problem.dto';
import { PlatformAdmin } from '@app/gateway/access.decorators';
import { CreateKeyDto } from '@app/keys/dto/create-key.dto';
import { ApiKeyWithSecret } from '@app/keys/dto/key.response';
import { KeysService } from '@app/keys/keys.service';
import { CreateTenantDto, PutSettingsDto, UpdateTenantDto } from './dto/create-tenant.dto';
import { DeleteTenantQuery, ListTenantsQuery } from './dto/list-tenants.query';
import { TenantPage, TenantSettingsView, TenantView } from './dto/tenant.response';
import { settingsEtag, TenantsService } from './tenants.service';

/** Platform admin API: the tenants Quiver serves. */
@ApiTags('platform: tenants')
@PlatformAdmin()
@ApiNotFoundResponse({ description: 'No such tenant', type: ProblemDto })
@ApiBadRequestResponse({
  description: 'Invalid input (problem+json, code validation_failed or more specific)',
  type: ProblemDto,
})
@Controller('admin/tenants')
export class TenantsController {
  constructor(
    private readonly tenants: TenantsService,
    private readonly keys: KeysService,
  ) {}

  @ApiOperation({ summary: 'Create a tenant' })
  @ApiConflictResponse({ description: 'Slug taken', type: ProblemDto })
  @Post()
  create(@Body() dto: CreateTenantDto): Promise<TenantView> {
    return this.tenants.create(dto);
  }

  @ApiOperation({ summary: 'List tenants (cursor pagination, oldest first)' })
  @Get()
  list(@Query() query: ListTenantsQuery): Promise<TenantPage> {
    return this.tenants.list(query);
  }

  @ApiOperation({ summary: 'Get a tenant' })
  @Get(':tenantId')
  get(@Param('tenantId') id: string): Promise<TenantView> {
    return this.tenants.get(id);
  }

  @ApiOperation({ summary: 'Change name or plan' })
  @Patch(':tenantId')
  update(@Param('tenantId') id: string, @Body() dto: UpdateTenantDto): Promise<TenantView> {
    return this.tenants.update(id, dto);
  }

  @ApiOperation({
    summary: "Read the tenant's settings document; the ETag header carries its version",
  })
  @Get(':tenantId/settings')
  async getSettings(
    @Param('tenantId') id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TenantSettingsView> {
    const view = await this.tenants.getSettings(id);
    void reply.header('etag', settingsEtag(view.version));
    return view;
  }

  @ApiOperation({
    summary: 'Replace the settings document (If-Match required: optimistic concurrency)',
  })
  @ApiHeader({
    name: 'If-Match',
    required: true,
    description: 'The ETag from the last read, e.g. "3"',
  })
  @ApiPreconditionFailedResponse({
    description: 'Settings changed since the ETag was read',
    type: ProblemDto,
  })
  @ApiResponse({ status: 428, description: 'If-Match missing', type: ProblemDto })
  @Put(':tenantId/settings')
  async putSettings(
    @Param('tenantId') id: string,
    @Headers('if-match') ifMatch: string | undefined,
    @Body() dto: PutSettingsDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TenantSettingsView> {
    const view = await this.tenants.putSettings(id, ifMatch, dto.settings);
    void reply.header('etag', settingsEtag(view.version));
    return view;
  }

  @ApiOperation({ summary: 'Suspend: the data plane refuses the tenant with 403 until resumed' })
  @ApiConflictResponse({ description: 'Not active', type: ProblemDto })
  @HttpCode(200)
  @Post(':tenantId/suspend')
  suspend(@Param('tenantId') id: string): Promise<TenantView> {
    return this.tenants.suspend(id);
  }

  @ApiOperation({ summary: 'Resume a suspended tenant, or cancel a pending deletion' })
  @ApiConflictResponse({ description: 'Already active', type: ProblemDto })
  @HttpCode(200)
  @Post(':tenantId/resume')
  resume(@Param('tenantId') id: string): Promise<TenantView> {
    return this.tenants.resume(id);
  }

  @ApiOperation({
    summary:
      'Delete: the data plane refuses the tenant at once; a job purges all its data after the grace period',
    description: 'With `?purge=now` the purge job is queued immediately.',
  })
  @HttpCode(202)
  @Delete(':tenantId')
  delete(@Param('tenantId') id: string, @Query() query: DeleteTenantQuery): Promise<TenantView> {
    return this.tenants.scheduleDeletion(id, query.purge === 'now');
  }

  @ApiOperation({ summary: 'Issue an API key for the tenant (e.g. its first tenant:admin key)' })
  @Post(':tenantId/keys')
  issueKey(@Param('tenantId') id: string, @Body() dto: CreateKeyDto): Promise<ApiKeyWithSecret> {
    return this.keys.issue(id, dto, 'exists');
  }
}
