import { Body, Controller, Delete, Get, Param, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { TenantContext } from '@app/common/context/tenant-context';
import { ProblemDto } from '@app/common/errors/problem.dto';
import { RateLimitClass, RateLimitFailClosed, RequireScopes } from '@app/gateway/access.decorators';
import { CreateKeyDto } from './dto/create-key.dto';
import { RotateKeyDto, SigningSecretDto } from './dto/rotate-key.dto';
import {
  ApiKeyList,
  ApiKeyView,
  ApiKeyWithSecret,
  SigningSecretResponse,
} from './dto/key.response';
import { KeysService } from './keys.service';

/** Tenant admin API: the tenant's own API keys. */
@ApiTags('keys')
@RequireScopes('tenant:admin')
@RateLimitClass('admin')
@ApiBadRequestResponse({
  description: 'Invalid input (problem+json, code validation_failed)',
  type: ProblemDto,
})
@Controller('keys')
export class KeysController {
  constructor(
    private readonly keys: KeysService,
    private readonly context: TenantContext,
  ) {}

  @ApiOperation({ summary: 'Create a key; the secret is in this response only' })
  @RateLimitFailClosed()
  @Post()
  create(@Body() dto: CreateKeyDto): Promise<ApiKeyWithSecret> {
    return this.keys.issue(this.context.tenantId, dto);
  }

  @ApiOperation({ summary: 'List keys (never their secrets)' })
  @Get()
  async list(): Promise<ApiKeyList> {
    return { items: await this.keys.list(this.context.tenantId) };
  }

  @ApiOperation({ summary: 'Get a key' })
  @ApiNotFoundResponse({ description: 'No such key', type: ProblemDto })
  @Get(':keyId')
  get(@Param('keyId') keyId: string): Promise<ApiKeyView> {
    return this.keys.get(this.context.tenantId, keyId);
  }

  @ApiOperation({ summary: 'Revoke a key: refused from the moment this call returns' })
  @ApiNotFoundResponse({ description: 'No such key', type: ProblemDto })
  @ApiConflictResponse({ description: 'Already revoked', type: ProblemDto })
  @Delete(':keyId')
  revoke(@Param('keyId') keyId: string): Promise<ApiKeyView> {
    return this.keys.revoke(this.context.tenantId, keyId);
  }

  @ApiOperation({
    summary:
      'Add or rotate the request-signing secret (RFC 9421); the old one verifies for the grace period',
  })
  @ApiNotFoundResponse({ description: 'No such key', type: ProblemDto })
  @RateLimitFailClosed()
  @Post(':keyId/signing-secret')
  rotateSigningSecret(
    @Param('keyId') keyId: string,
    @Body() dto: SigningSecretDto,
  ): Promise<SigningSecretResponse> {
    return this.keys.rotateSigningSecret(this.context.tenantId, keyId, dto);
  }

  @ApiOperation({
    summary: 'Rotate: a new secret now, the old one keeps working for the grace period',
  })
  @ApiNotFoundResponse({ description: 'No such key', type: ProblemDto })
  @RateLimitFailClosed()
  @Post(':keyId/rotate')
  rotate(@Param('keyId') keyId: string, @Body() dto: RotateKeyDto): Promise<ApiKeyWithSecret> {
    return this.keys.rotate(this.context.tenantId, keyId, dto.gracePeriodSeconds);
  }
}
