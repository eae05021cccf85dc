import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { parseSignature, SignatureFailure, verifySignature } from '@libs/http-signatures';
import { AppConfig } from '@app/config/app-config';
import type { VerifiedKey } from '@app/keys/key-cache';
import { GatewayErrorCode, gatewayError } from './gateway.errors';
import type { OnceClaim } from '@libs/rate-limit';
import { RequestOrigin } from './request-origin';

const FAILURE_CODES: Record<SignatureFailure, GatewayErrorCode> = {
  missing_signature: GatewayErrorCode.SignatureRequired,
  malformed_signature: GatewayErrorCode.SignatureMalformed,
  multiple_signatures: GatewayErrorCode.SignatureMalformed,
  missing_keyid: GatewayErrorCode.SignatureMalformed,
  missing_created: GatewayErrorCode.SignatureMalformed,
  component_absent: GatewayErrorCode.SignatureMalformed,
  unsupported_algorithm: GatewayErrorCode.SignatureUnsupportedAlgorithm,
  created_out_of_window: GatewayErrorCode.SignatureExpired,
  expired: GatewayErrorCode.SignatureExpired,
  missing_component: GatewayErrorCode.SignatureMissingComponent,
  missing_content_digest: GatewayErrorCode.ContentDigestMissing,
  content_digest_mismatch: GatewayErrorCode.ContentDigestMismatch,
  unsupported_digest: GatewayErrorCode.ContentDigestMismatch,
  bad_signature: GatewayErrorCode.SignatureInvalid,
};

/**
 * HTTP Message Signatures (RFC 9421, hmac-sha256) on the request path: parse, check that `keyid`
 * names the authenticated key, verify against its current (and, during a rotation, previous) secret
 * over the raw body bytes. Refusing a signature seen before within the window is the rate limiter's
 * first step (TenantThrottlerGuard): verify() returns the replay claim, which the limiter makes in the
 * same Redis call as its decision, before counting the request.
 */
@Injectable()
export class SignatureVerifier {
  private readonly maxSkewSeconds: number;

  constructor(
    private readonly origin: RequestOrigin,
    config: AppConfig,
  ) {
    this.maxSkewSeconds = config.env.SIGNATURE_MAX_SKEW_SECONDS;
  }

  /** True when the request carries a signature (which is then always checked). */
  isSigned(req: FastifyRequest): boolean {
    return req.headers['signature'] !== undefined || req.headers['signature-input'] !== undefined;
  }

  /** Verifies the signature; returns the claim that must be made once (see replayClaim). */
  verify(req: FastifyRequest, key: VerifiedKey): OnceClaim {
    const parsed = parseSignature(req.headers);
    if (!parsed.ok) throw this.failure(parsed.reason, parsed.detail);
    if (parsed.sig.keyId !== key.keyId) {
      throw gatewayError(
        GatewayErrorCode.SignatureUnknownKey,
        'keyid must be the id of the API key sending the request.',
      );
    }
    const now = Date.now();
    const secrets = key.signingSecrets
      .filter((s) => s.validUntil === null || s.validUntil > now)
      .map((s) => s.secret);
    if (secrets.length === 0) {
      throw gatewayError(
        GatewayErrorCode.SignatureUnknownKey,
        'This API key has no signing secret.',
      );
    }
    const rawBody = (req as FastifyRequest & { rawBody?: Buffer }).rawBody;
    const result = verifySignature(
      {
        method: req.method,
        targetUri: this.origin.targetUri(req),
        headers: req.headers,
        body: rawBody,
      },
      parsed.sig,
      secrets,
      { now: Math.floor(now / 1000), maxSkewSeconds: this.maxSkewSeconds },
    );
    if (!result.ok) throw this.failure(result.reason, result.detail);

    // `created` may lie up to the skew on either side of now: remember the signature that long. A
    // verified signature is the 32-byte HMAC of all it covers, so it names the request as well as a
    // hash of it would; hashing it again cost ~20 us a request with cold caches (decision 93).
    return {
      id: `sig:${key.keyId}:${parsed.sig.signature.toString('base64url')}`,
      ttlMs: 2 * this.maxSkewSeconds * 1000,
    };
  }

  private failure(reason: SignatureFailure, detail: string) {
    return gatewayError(FAILURE_CODES[reason], detail, { reason });
  }
}

/** The answer to a signature whose replay claim found it already used. */
export function signatureReplayed() {
  return gatewayError(
    GatewayErrorCode.SignatureReplayed,
    'This signature was already used; sign each request anew.',
  );
}
