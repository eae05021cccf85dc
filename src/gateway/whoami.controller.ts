import { Controller, Get, Req } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { policyName } from '@libs/rate-limit';
import { SCOPES, type Scope } from '@app/keys/scopes';
import { RateLimitClass, RequireScopes } from './access.decorators';
import { ENDPOINT_CLASSES, type EndpointClass } from './rate-limit/rate-limit-policy';
import { TenantContext } from '@app/common/context/tenant-context';
import { callerOf } from './verified-key';

export class RateLimitRuleView {
  /** The policy name in the RateLimit header fields. @example "search-1s" */
  policy!: string;
  /** @example 200 */
  limit!: number;
  /** @example 1 */
  windowSeconds!: number;
}

export class WhoAmIResponse {
  /** What the credential is: an API key or a person's session. */
  @ApiProperty({ enum: ['api_key', 'user'] })
  kind!: 'api_key' | 'user';
  /** The API key's id (null for a person). @example "0b0f6b4e-2f6d-4c36-9a3e-8d3c8a1f2e11" */
  keyId!: string | null;
  /** The person's user id (null for an API key). */
  userId!: string | null;
  /** The person's role (null for an API key). @example "admin" */
  role!: string | null;
  /** @example "5f0c3f2e-9d4b-4a51-8c1e-2b7d9e6a4c10" */
  tenantId!: string;
  @ApiProperty({ enum: SCOPES, isArray: true })
  scopes!: Scope[];
  /** Collections the key is limited to, or null for all. */
  collections!: string[] | null;
  /** The metadata filter enforced on every request made with the key, or null. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, nullable: true })
  filter!: Record<string, unknown> | null;
  /** Whether unsigned requests made with this key are refused. */
  signatureRequired!: boolean;
  /** The rules each endpoint class's requests count against (the tenant-wide ones included). */
  @ApiProperty({
    type: 'object',
    properties: Object.fromEntries(
      ENDPOINT_CLASSES.map((c) => [
        c,
        { type: 'array', items: { $ref: '#/components/schemas/RateLimitRuleView' } },
      ]),
    ),
  })
  rateLimits!: Record<EndpointClass, RateLimitRuleView[]>;
}

/** What the presented credential is and may do: for clients checking their configuration. */
@ApiTags('keys')
@ApiExtraModels(RateLimitRuleView)
@Controller('whoami')
export class WhoAmIController {
  constructor(private readonly context: TenantContext) {}

  @ApiOperation({
    summary: 'The caller (API key or person): tenant, permissions, restrictions and rate limits',
  })
  @RequireScopes(...SCOPES)
  @RateLimitClass('read')
  @Get()
  whoami(@Req() req: FastifyRequest): WhoAmIResponse {
    const caller = callerOf(req);
    const principal = this.context.principal;
    if (!caller || (principal?.kind !== 'api_key' && principal?.kind !== 'user'))
      throw new Error('whoami without a verified caller');
    const rateLimits = {} as Record<EndpointClass, RateLimitRuleView[]>;
    for (const cls of ENDPOINT_CLASSES) {
      rateLimits[cls] = caller.rateLimits.rules[cls].map((r) => ({
        policy: policyName(r),
        limit: r.limit,
        windowSeconds: r.windowMs / 1000,
      }));
    }
    const key = caller.key;
    return {
      kind: principal.kind,
      keyId: key?.keyId ?? null,
      userId: principal.kind === 'user' ? principal.userId : null,
      role: principal.kind === 'user' ? principal.role : null,
      tenantId: caller.tenantId,
      scopes: [...principal.scopes],
      collections: key?.collections ?? null,
      filter: key?.enforcedFilter ?? null,
      signatureRequired: key?.signatureRequired ?? false,
      rateLimits,
    };
  }
}
