import type { FastifyRequest } from 'fastify';
import type { VerifiedKey } from '@app/keys/key-cache';
import type { TenantRateLimitPolicy } from './rate-limit/rate-limit-policy';

/** What the authentication guard established about a tenant caller, for the guards after it. */
export interface VerifiedCaller {
  tenantId: string;
  rateLimits: TenantRateLimitPolicy;
  /** Set when the caller used an API key. */
  key?: VerifiedKey;
}

const verified = new WeakMap<object, VerifiedCaller>();

export function rememberCaller(req: FastifyRequest, caller: VerifiedCaller): void {
  verified.set(req.raw, caller);
}

export function callerOf(req: FastifyRequest): VerifiedCaller | undefined {
  return verified.get(req.raw);
}
