import { SetMetadata, applyDecorators } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ProblemDto } from '@app/common/errors/problem.dto';
import type { Scope } from '@app/keys/scopes';
import type { EndpointClass } from './rate-limit/rate-limit-policy';

/** What a route requires. Every route declares one; the guard refuses routes that do not. */
export type AccessRule =
  { kind: 'public' } | { kind: 'platform_admin' } | { kind: 'api_key'; anyOf: Scope[] };

export const ACCESS_RULE = 'quiver:access-rule';
export const ENDPOINT_CLASS = 'quiver:endpoint-class';
export const FAIL_CLOSED = 'quiver:rate-limit-fail-closed';
export const PER_ADDRESS = 'quiver:rate-limit-per-address';

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
    ApiTooManyRequestsResponse({
      description:
        'A rate limit of the tenant or of this endpoint class is spent (code rate_limited); Retry-After says when to try again',
      type: ProblemDto,
    }),
  );

/**
 * The endpoint class a tenant route's requests count against (besides the tenant-wide limit). Every
 * route taking an API key declares one; the rate-limit guard refuses routes that do not.
 */
export const RateLimitClass = (endpointClass: EndpointClass) =>
  SetMetadata(ENDPOINT_CLASS, endpointClass);

/**
 * Mints or changes credentials: when the rate limiter cannot reach Redis, such a request is refused
 * with 503 (RATE_LIMIT_REDIS_DOWN_SENSITIVE) rather than admitted on a per-process guess.
 */
export const RateLimitFailClosed = () =>
  applyDecorators(
    SetMetadata(FAIL_CLOSED, true),
    ApiServiceUnavailableResponse({
      description: 'The rate limiter cannot reach its store (code service_unavailable)',
      type: ProblemDto,
    }),
  );

/** Settings that hold a per-address limit (requests per minute, 0: none). */
export type PerAddressSetting = 'AUTH_LOGIN_PER_MINUTE' | 'AUTH_REFRESH_PER_MINUTE';

/**
 * A public route limited per client address (login, token refresh): at most the setting's number of
 * requests per minute from one address, on the same exact store as the tenant limits.
 */
export const LimitPerAddress = (setting: PerAddressSetting) =>
  applyDecorators(
    SetMetadata(PER_ADDRESS, setting),
    ApiTooManyRequestsResponse({
      description: `Too many requests from one address (${setting}; code rate_limited)`,
      type: ProblemDto,
    }),
  );
