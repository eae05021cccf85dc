import { SetMetadata, applyDecorators } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiSecurity,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ProblemDto } from '@app/common/errors/problem.dto';
import type { Scope } from '@app/keys/scopes';

/** What a route requires. Every route declares one; the guard refuses routes that do not. */
export type AccessRule =
  { kind: 'public' } | { kind: 'platform_admin' } | { kind: 'api_key'; anyOf: Scope[] };

export const ACCESS_RULE = 'quiver:access-rule';

export const API_KEY_SCHEME = 'api-key';
export const API_KEY_HEADER_SCHEME = 'api-key-header';
export const PLATFORM_SCHEME = 'platform-admin';

const unauthorized = ApiUnauthorizedResponse({
  description: 'Missing or invalid credential',
  type: ProblemDto,
});

/** No credential needed (health, docs). */
export const Public = () => SetMetadata(ACCESS_RULE, { kind: 'public' } satisfies AccessRule);

/** A platform admin token (qvp_...) is required. */
export const PlatformAdmin = () =>
  applyDecorators(
    SetMetadata(ACCESS_RULE, { kind: 'platform_admin' } satisfies AccessRule),
    ApiBearerAuth(PLATFORM_SCHEME),
    unauthorized,
  );

/** An API key holding at least one of the scopes (tenant:admin holds them all). */
export const RequireScopes = (...anyOf: Scope[]) =>
  applyDecorators(
    SetMetadata(ACCESS_RULE, { kind: 'api_key', anyOf } satisfies AccessRule),
    ApiBearerAuth(API_KEY_SCHEME),
    ApiSecurity(API_KEY_HEADER_SCHEME),
    unauthorized,
    ApiForbiddenResponse({
      description: `The key lacks the scope (one of: ${anyOf.join(', ')}), or the tenant is suspended`,
      type: ProblemDto,
    }),
  );
