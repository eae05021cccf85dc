import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { TenantContext } from '@app/common/context/tenant-context';
import { CommonErrorCode, commonError } from '@app/common/errors/common-errors';
import { rememberTenantForLog } from '@app/common/logging';
import { AppConfig } from '@app/config/app-config';
import { KeysService } from '@app/keys/keys.service';
import { hasAnyScope } from '@app/keys/scopes';
import { PlatformAuthService } from '@app/platform/platform-auth.service';
import { TenancyErrorCode, tenancyError } from '@app/tenancy/tenancy.errors';
import type { IpAllowlist } from '@libs/net';
import { SessionsService } from '@app/auth/sessions.service';
import type { Scope } from '@app/keys/scopes';
import { ACCESS_RULE, AccessRule } from './access.decorators';
import { GatewayErrorCode, gatewayError } from './gateway.errors';
import { RequestOrigin } from './request-origin';
import { SecurityEventsService } from './security-events.service';
import { SignatureVerifier } from './signature-verifier';
import { extractCredential } from './credentials';
import { rememberCaller } from './verified-key';

const WWW_AUTHENTICATE = { 'www-authenticate': 'Bearer realm="quiver"' };

/**
 * The global authentication guard: reads the route's access rule, verifies the credential, checks the
 * tenant's state and the key's scopes, and sets the request's TenantContext. A route without an
 * access rule is refused: guarded by default.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly logger = new Logger('AuthGuard');
  /** Read once: a disabled debug call still costs a trip through Nest's and pino's loggers. */
  private readonly debug: boolean;

  constructor(
    private readonly reflector: Reflector,
    private readonly keys: KeysService,
    private readonly platform: PlatformAuthService,
    private readonly context: TenantContext,
    private readonly securityEvents: SecurityEventsService,
    private readonly origin: RequestOrigin,
    private readonly signatures: SignatureVerifier,
    private readonly sessions: SessionsService,
    config: AppConfig,
  ) {
    this.debug = config.env.LOG_LEVEL === 'debug' || config.env.LOG_LEVEL === 'trace';
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const rule = this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, [
      ctx.getHandler(),
      ctx.getClass(),
    ]);
    if (!rule)
      throw new Error(`${ctx.getClass().name}.${ctx.getHandler().name} declares no access rule`);
    if (rule.kind === 'public') return true;

    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const extracted = extractCredential(req.headers);
    if (!extracted.ok) {
      const detail =
        extracted.reason === 'missing'
          ? 'Send a credential as "Authorization: Bearer <key>" or "X-API-Key: <key>".'
          : extracted.reason === 'conflicting'
            ? 'Authorization and X-API-Key carry different credentials.'
            : 'The credential header is malformed.';
      throw commonError(CommonErrorCode.Unauthenticated, detail, {}, WWW_AUTHENTICATE);
    }

    if (rule.kind === 'platform_admin') {
      const tokenId = await this.platform.verify(extracted.credential);
      this.context.setPrincipal({ kind: 'platform_admin', tokenId });
      return true;
    }

    if (looksLikeAccessToken(extracted.credential)) {
      const user = await this.sessions.verifyAccessToken(extracted.credential);
      this.checkTenantState(user.tenantStatus);
      await this.checkAddress(req, user.tenantId, user.tenantAllowlist, null);
      this.checkScopes(user.scopes, rule.anyOf);
      this.context.setPrincipal({
        kind: 'user',
        tenantId: user.tenantId,
        userId: user.userId,
        role: user.role,
        scopes: user.scopes,
        sessionId: user.sessionId,
      });
      rememberTenantForLog(req.raw, user.tenantId);
      rememberCaller(req, { tenantId: user.tenantId, rateLimits: user.rateLimits });
      return true;
    }

    const key = await this.keys.verify(extracted.credential);
    this.checkTenantState(key.tenantStatus);
    await this.checkAddress(req, key.tenantId, key.tenantAllowlist, key.keyAllowlist, key.keyId);
    // A signature that is present is always checked; one that is required must be present.
    const replayClaim =
      key.signatureRequired || this.signatures.isSigned(req)
        ? this.signatures.verify(req, key)
        : undefined;
    this.checkScopes(key.scopes, rule.anyOf);
    this.context.setPrincipal({
      kind: 'api_key',
      tenantId: key.tenantId,
      keyId: key.keyId,
      scopes: key.scopes,
      scope: { collections: key.collections, filter: key.enforcedFilter },
    });
    rememberTenantForLog(req.raw, key.tenantId);
    rememberCaller(req, { tenantId: key.tenantId, rateLimits: key.rateLimits, key, replayClaim });
    if (this.debug) this.logger.debug({ keyId: key.keyId }, 'api key accepted');
    return true;
  }

  private checkTenantState(status: string): void {
    if (status === 'pending_deletion')
      throw tenancyError(TenancyErrorCode.TenantNotFound, 'No such tenant.');
    if (status === 'suspended')
      throw tenancyError(TenancyErrorCode.TenantSuspended, 'This tenant is suspended.');
  }

  private checkScopes(granted: readonly Scope[], anyOf: Scope[]): void {
    if (hasAnyScope(granted, anyOf)) return;
    throw commonError(
      CommonErrorCode.InsufficientScope,
      `This operation needs one of the permissions: ${anyOf.join(', ')}.`,
      { requiredScopes: anyOf },
    );
  }

  /** The tenant's allowlist, then the key's: a request must pass both that apply. */
  private async checkAddress(
    req: FastifyRequest,
    tenantId: string,
    tenantAllowlist: IpAllowlist | null,
    keyAllowlist: IpAllowlist | null,
    keyId?: string,
  ): Promise<void> {
    if (!tenantAllowlist && !keyAllowlist) return;
    const address = this.origin.clientAddress(req);
    const deniedBy =
      tenantAllowlist && !tenantAllowlist.allows(address)
        ? 'tenant'
        : keyAllowlist && !keyAllowlist.allows(address)
          ? 'key'
          : undefined;
    if (!deniedBy) return;
    await this.securityEvents.record(tenantId, 'security.ip_denied', address, {
      address,
      keyId: keyId ?? null,
      allowlist: deniedBy,
      method: req.method,
      path: req.url.split('?')[0],
    });
    throw gatewayError(
      GatewayErrorCode.IpNotAllowed,
      deniedBy === 'tenant'
        ? "This address is not in the tenant's IP allowlist."
        : "This address is not in the API key's IP allowlist.",
      { address },
    );
  }
}

/** A JWT (three base64url parts, a JSON header): a person's access token rather than an API key. */
function looksLikeAccessToken(credential: string): boolean {
  return credential.startsWith('eyJ') && /^[\w-]+\.[\w-]+\.[\w-]+$/.test(credential);
}
