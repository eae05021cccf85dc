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

/**
 * Kept on the raw request under a symbol this module does not export. A client cannot set it (nothing
 * from the wire becomes a symbol-keyed property), and other modules go through callerOf(); code in the
 * process could still find it with Object.getOwnPropertySymbols, as it could reach a WeakMap's owner
 * module. (A WeakMap keyed by the request cost an ephemeron entry per request for every scavenge.)
 */
const VERIFIED = Symbol('quiver.verifiedCaller');

type WithCaller = { [VERIFIED]?: VerifiedCaller };

export function rememberCaller(req: FastifyRequest, caller: VerifiedCaller): void {
  (req.raw as WithCaller)[VERIFIED] = caller;
}

export function callerOf(req: FastifyRequest): VerifiedCaller | undefined {
  return (req.raw as WithCaller)[VERIFIED];
}
