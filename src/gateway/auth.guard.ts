import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { TenantContext } from '@app/common/context/tenant-context';
import { CommonErrorCode, commonError } from '@app/common/errors/common-errors';
import { rememberTenantForLog } from '@app/common/logging';
import { KeysService } from '@app/keys/keys.service';
import { hasAnyScope } from '@app/keys/scopes';
import { PlatformAuthService } from '@app/platform/platform-auth.service';
import { TenancyErrorCode, tenancyError } from '@app/tenancy/tenancy.errors';
import type { VerifiedKey } from '@app/keys/key-cache';
import { ACCESS_RULE, AccessRule } from './access.decorators';
import { GatewayErrorCode, gatewayError } from './gateway.errors';
import { RequestOrigin } from './request-origin';
import { SecurityEventsService } from './security-events.service';
import { SignatureVerifier } from './signature-verifier';
import { extractCredential } from './credentials';
import { rememberVerifiedKey } from './verified-key';

const WWW_AUTHENTICATE = { 'www-authenticate': 'Bearer realm="quiver"' };

/**
 * The global authentication guard: reads the route's access rule, verifies the credential, checks the
 * tenant's state and the key's scopes, and sets the request's TenantContext. A route without an
 * access rule is refused: guarded by default.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly logger = new Logger('AuthGuard');

  constructor(
    private readonly reflector: Reflector,
    private readonly keys: KeysService,
    private readonly platform: PlatformAuthService,
    private readonly context: TenantContext,
    private readonly securityEvents: SecurityEventsService,
    private readonly origin: RequestOrigin,
    private readonly signatures: SignatureVerifier,
  ) {}

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

    const key = await this.keys.verify(extracted.credential);
    if (key.tenantStatus === 'pending_deletion')
      throw tenancyError(TenancyErrorCode.TenantNotFound, 'No such tenant.');
    if (key.tenantStatus === 'suspended')
      throw tenancyError(TenancyErrorCode.TenantSuspended, 'This tenant is suspended.');
    await this.checkAddress(req, key);
    // A signature that is present is always checked; one that is required must be present.
    if (key.signatureRequired || this.signatures.isSigned(req))
      await this.signatures.verify(req, key);
    if (!hasAnyScope(key.scopes, rule.anyOf)) {
      throw commonError(
        CommonErrorCode.InsufficientScope,
        `This operation needs one of the scopes: ${rule.anyOf.join(', ')}.`,
        {
          requiredScopes: rule.anyOf,
        },
      );
    }
    this.context.setPrincipal({
      kind: 'api_key',
      tenantId: key.tenantId,
      keyId: key.keyId,
      scopes: key.scopes,
      scope: { collections: key.collections, filter: key.enforcedFilter },
    });
    rememberTenantForLog(req.raw, key.tenantId);
    rememberVerifiedKey(req, key);
    this.logger.debug({ keyId: key.keyId }, 'api key accepted');
    return true;
  }

  /** The tenant's allowlist, then the key's: a request must pass both that apply. */
  private async checkAddress(req: FastifyRequest, key: VerifiedKey): Promise<void> {
    if (!key.tenantAllowlist && !key.keyAllowlist) return;
    const address = this.origin.clientAddress(req);
    const deniedBy =
      key.tenantAllowlist && !key.tenantAllowlist.allows(address)
        ? 'tenant'
        : key.keyAllowlist && !key.keyAllowlist.allows(address)
          ? 'key'
          : undefined;
    if (!deniedBy) return;
    await this.securityEvents.record(key.tenantId, 'security.ip_denied', address, {
      address,
      keyId: key.keyId,
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
