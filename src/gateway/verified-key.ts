import type { FastifyRequest } from 'fastify';
import type { OnceClaim } from '@libs/rate-limit';
import type { VerifiedKey } from '@app/keys/key-cache';
import type { TenantRateLimitPolicy } from './rate-limit/rate-limit-policy';

/** What the authentication guard established about a tenant caller, for the guards after it. */
export interface VerifiedCaller {
  tenantId: string;
  rateLimits: TenantRateLimitPolicy;
  /** Set when the caller used an API key. */
  key?: VerifiedKey;
  /**
   * Set when the request was signed: its signature, to be accepted once. The rate-limit guard makes
   * this claim (with its decision, in one Redis call) before the request may proceed.
   */
  replayClaim?: OnceClaim;
}

const verified = new WeakMap<object, VerifiedCaller>();

export function rememberCaller(req: FastifyRequest, caller: VerifiedCaller): void {
  verified.set(req.raw, caller);
}

export function callerOf(req: FastifyRequest): VerifiedCaller | undefined {
  return verified.get(req.raw);
}
