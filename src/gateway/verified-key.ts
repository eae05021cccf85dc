import type { FastifyRequest } from 'fastify';
import type { VerifiedKey } from '@app/keys/key-cache';

/** The key the authentication guard verified, for the guards after it (rate limits). */
const verified = new WeakMap<object, VerifiedKey>();

export function rememberVerifiedKey(req: FastifyRequest, key: VerifiedKey): void {
  verified.set(req.raw, key);
}

export function verifiedKeyOf(req: FastifyRequest): VerifiedKey | undefined {
  return verified.get(req.raw);
}
