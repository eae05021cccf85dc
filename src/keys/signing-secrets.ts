import { Inject, Injectable } from '@nestjs/common';
import { generateSecret } from '@libs/api-key';
import { SecretBox } from '@libs/crypto';
import { AppConfig } from '@app/config/app-config';
import { CommonErrorCode, commonError } from '@app/common/errors/common-errors';
import { SECRET_BOX } from '@app/secrets/secrets.module';

/** A signing secret that may verify a request, and until when (null: no end). */
export interface UsableSecret {
  secret: Buffer;
  validUntil: number | null;
}

/**
 * Request-signing secrets (RFC 9421 hmac-sha256). Each key has at most a current and a previous
 * secret (the previous one lives through a rotation's grace period). They must be readable to verify
 * signatures, so they are stored encrypted (AES-256-GCM) and bound to their key row. The HMAC key is
 * the UTF-8 bytes of the whole `qvs_...` string, so `openssl dgst -hmac "$SECRET"` reproduces it.
 */
@Injectable()
export class SigningSecrets {
  constructor(
    @Inject(SECRET_BOX) private readonly box: SecretBox | null,
    private readonly config: AppConfig,
  ) {}

  /** A new secret and its sealed form for the row of (tenantId, keyId). */
  create(tenantId: string, keyId: string): { secret: string; sealed: Buffer } {
    const secret = generateSecret('qvs', this.config.env.QUIVER_KEY_ENV).secret;
    return {
      secret,
      sealed: this.requireBox().seal(Buffer.from(secret, 'utf8'), owner(tenantId, keyId)),
    };
  }

  /** The secrets that verify a signature now: current, and previous while its grace lasts. */
  open(
    tenantId: string,
    keyId: string,
    current: Buffer | null,
    previous: Buffer | null,
    previousUntil: Date | null,
  ): UsableSecret[] {
    if (!this.box || (!current && !previous)) return [];
    const out: UsableSecret[] = [];
    if (current)
      out.push({ secret: this.box.open(current, owner(tenantId, keyId)), validUntil: null });
    if (previous && previousUntil) {
      out.push({
        secret: this.box.open(previous, owner(tenantId, keyId)),
        validUntil: previousUntil.getTime(),
      });
    }
    return out;
  }

  private requireBox(): SecretBox {
    if (!this.box) {
      throw commonError(
        CommonErrorCode.ServiceUnavailable,
        'Signing secrets are stored encrypted: set QUIVER_ENCRYPTION_KEY on the server first.',
        { reason: 'encryption_not_configured' },
      );
    }
    return this.box;
  }
}

function owner(tenantId: string, keyId: string): string {
  return `api_key_signing:${tenantId}:${keyId}`;
}
