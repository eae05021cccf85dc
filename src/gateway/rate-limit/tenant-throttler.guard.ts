import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerModuleOptions,
  type ThrottlerRequest,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { rateLimitHeaders, type Decision, type OnceClaim, type WindowRule } from '@libs/rate-limit';
import { AppConfig } from '@app/config/app-config';
import {
  ACCESS_RULE,
  AccessRule,
  ENDPOINT_CLASS,
  FAIL_CLOSED,
  PER_ADDRESS,
  type PerAddressSetting,
} from '../access.decorators';
import { callerOf } from '../verified-key';
import { RequestOrigin } from '../request-origin';
import { SignatureVerifier, signatureReplayed } from '../signature-verifier';
import { GatewayErrorCode, gatewayError } from '../gateway.errors';
import type { EndpointClass } from './rate-limit-policy';
import { RateLimiter, type FailureMode } from './rate-limiter';

/**
 * Rate limits, after authentication (AuthGuard runs first, so a bad key never reaches Redis).
 *
 * - Requests with an API key or a user's access token: the tenant's policy (plan defaults, settings overrides), tenant-wide and
 *   per endpoint class, every window of both in one atomic decision keyed by the tenant, so every
 *   key of a tenant and every api instance share it. A signed request's replay claim (AuthGuard
 *   verified the signature) is made first in the same Redis call: a replay is refused (401) before
 *   it counts. With rate limiting off the claim is still made, alone.
 * - Platform admin routes: @nestjs/throttler's own machinery (its named throttlers, @Throttle and
 *   @SkipThrottle), per client address, on the same exact store.
 * - Public routes: not limited, unless they declare @LimitPerAddress (login): then per address.
 * Every limited response carries RateLimit-Policy, RateLimit and X-RateLimit-*; a refusal is a 429
 * problem with Retry-After.
 */
@Injectable()
export class TenantThrottlerGuard extends ThrottlerGuard {
  private readonly enabled: boolean;
  private readonly failureModes: Record<'normal' | 'sensitive', FailureMode>;
  private readonly perAddressLimits: Record<PerAddressSetting, number>;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly limiter: RateLimiter,
    private readonly origin: RequestOrigin,
    private readonly signatures: SignatureVerifier,
    config: AppConfig,
  ) {
    super(options, storage, reflector);
    this.enabled = config.env.RATE_LIMIT_ENABLED;
    this.failureModes = {
      normal: config.env.RATE_LIMIT_REDIS_DOWN,
      sensitive: config.env.RATE_LIMIT_REDIS_DOWN_SENSITIVE,
    };
    this.perAddressLimits = {
      AUTH_LOGIN_PER_MINUTE: config.env.AUTH_LOGIN_PER_MINUTE,
      AUTH_REFRESH_PER_MINUTE: config.env.AUTH_REFRESH_PER_MINUTE,
    };
  }

  override async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (!this.enabled) {
      await this.claimOnly(ctx);
      return true;
    }
    const targets = [ctx.getHandler(), ctx.getClass()];
    const rule = this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, targets);
    if (!rule) return true;
    if (rule.kind === 'public') return this.perAddress(ctx, targets);
    if (rule.kind === 'platform_admin') return super.canActivate(ctx);

    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const caller = callerOf(req);
    if (!caller) throw new Error('rate limit: no verified caller on a tenant route (guard order)');
    const endpointClass = this.reflector.getAllAndOverride<EndpointClass | undefined>(
      ENDPOINT_CLASS,
      targets,
    );
    if (!endpointClass) {
      throw new Error(
        `${ctx.getClass().name}.${ctx.getHandler().name} declares no rate-limit endpoint class`,
      );
    }
    await this.admit(
      ctx,
      tenantKey(caller.tenantId),
      caller.rateLimits.rules[endpointClass],
      this.failureMode(ctx, req),
      caller.replayClaim,
    );
    return true;
  }

  /** With rate limiting off: a signed request's replay claim, which never depends on limits. */
  private async claimOnly(ctx: ExecutionContext): Promise<void> {
    const caller = callerOf(ctx.switchToHttp().getRequest<FastifyRequest>());
    if (!caller?.replayClaim) return;
    const claim = await this.limiter.claimOnce(tenantKey(caller.tenantId), caller.replayClaim);
    if (claim === 'seen') throw signatureReplayed();
  }

  /** A public route's per-address limit (@LimitPerAddress), per minute, from its setting. */
  private async perAddress(
    ctx: ExecutionContext,
    targets: Parameters<Reflector['getAllAndOverride']>[1],
  ): Promise<boolean> {
    const setting = this.reflector.getAllAndOverride<PerAddressSetting | undefined>(
      PER_ADDRESS,
      targets,
    );
    const limit = setting ? this.perAddressLimits[setting] : 0;
    if (!setting || limit === 0) return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const rule: WindowRule = { limit, windowMs: 60_000, name: 'address-1m' };
    await this.admit(ctx, `a:${setting}:${this.origin.clientAddress(req)}`, [rule], 'open');
    return true;
  }

  /** The stock per-throttler step, for platform admin routes: keyed by route and client address. */
  protected override async handleRequest(request: ThrottlerRequest): Promise<boolean> {
    const { context, limit, ttl, throttler, getTracker, generateKey } = request;
    if (limit <= 0) return true;
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const tracker = await getTracker(req, context);
    const name = throttler.name ?? 'default';
    const key = `p:${generateKey(context, tracker, name)}`;
    const rule: WindowRule = { limit, windowMs: Math.max(1000, Math.round(ttl)), name };
    await this.admit(context, key, [rule], this.failureMode(context, req));
    return true;
  }

  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    return Promise.resolve(this.origin.clientAddress(req as unknown as FastifyRequest));
  }

  private async admit(
    ctx: ExecutionContext,
    key: string,
    rules: readonly WindowRule[],
    mode: FailureMode,
    once?: OnceClaim,
  ): Promise<void> {
    const outcome = once
      ? await this.limiter.consumeOnce(key, rules, mode, once)
      : await this.limiter.consume(key, rules, mode);
    if (outcome === 'seen') throw signatureReplayed();
    const { decision } = outcome;
    const headers = rateLimitHeaders(decision);
    if (!decision.allowed) throw refused(decision, headers);
    void ctx.switchToHttp().getResponse<FastifyReply>().headers(headers);
  }

  private failureMode(ctx: ExecutionContext, req: FastifyRequest): FailureMode {
    const sensitive =
      this.reflector.getAllAndOverride<boolean | undefined>(FAIL_CLOSED, [
        ctx.getHandler(),
        ctx.getClass(),
      ]) === true || this.signatures.isSigned(req);
    return this.failureModes[sensitive ? 'sensitive' : 'normal'];
  }
}

/**
 * The limiter key of a tenant's policy. The replay claim is kept under it too, so the claim made
 * alone (limits off) and the one made with a decision find each other's ids.
 */
function tenantKey(tenantId: string): string {
  return `t:${tenantId}`;
}

function refused(decision: Decision, headers: Record<string, string>) {
  const blocking = decision.rules.filter((r) => r.remaining === 0);
  return gatewayError(
    GatewayErrorCode.RateLimited,
    'A rate limit is spent; retry after the number of seconds in Retry-After.',
    {
      retryAfterSeconds: Number(headers['Retry-After']),
      limits: blocking.map((r) => ({
        policy: r.rule.name,
        limit: r.rule.limit,
        windowSeconds: r.rule.windowMs / 1000,
      })),
    },
    headers,
  );
}
