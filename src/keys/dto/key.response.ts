import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Scope, SCOPES } from '../scopes';

export const KEY_STATUSES = ['active', 'revoked', 'expired'] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];

export class ApiKeyView {
  /** @example "0b0f6b4e-2f6d-4c36-9a3e-8d3c8a1f2e11" */
  id!: string;
  /** @example "search-service (prod)" */
  name!: string;
  /** @example ["vectors:read"] */
  @ApiProperty({ enum: SCOPES, isArray: true })
  scopes!: Scope[];
  @ApiProperty({ enum: KEY_STATUSES })
  status!: KeyStatus;
  /** Last four characters of the current secret, to tell keys apart. @example "x9Qa" */
  last4!: string;
  expiresAt!: string | null;
  revokedAt!: string | null;
  /** Addresses/CIDRs the key is limited to, or null. */
  allowedIps!: string[] | null;
  /** Collections the key is limited to, or null for all. */
  collections!: string[] | null;
  /** The metadata filter enforced on every request made with the key, or null. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, nullable: true })
  filter!: Record<string, unknown> | null;
  signing!: SigningView;
  /** Approximate: recorded in batches every few seconds. */
  lastUsedAt!: string | null;
  rotatedAt!: string | null;
  /** When the secret replaced by the last rotation stops working, if it still does. */
  previousSecretExpiresAt!: string | null;
  createdAt!: string;
}

export class SigningView {
  /** Whether the key has a request-signing secret. */
  enabled!: boolean;
  /** Whether unsigned requests made with this key are refused. */
  required!: boolean;
  /** When the signing secret replaced by the last rotation stops verifying, if it still does. */
  previousSecretExpiresAt!: string | null;
}

export class ApiKeyWithSecret extends ApiKeyView {
  /**
   * The secret. Shown once, here; only its SHA-256 is stored.
   * @example "qvr_live_4hT0b1m2QJ0XnY3vB9kz7LqP2sWc8RfA1Z0k3x"
   */
  secret!: string;
  /** The request-signing secret when `signing` was asked for; shown once. */
  signingSecret?: string;
}

export class ApiKeyList {
  items!: ApiKeyView[];
}

export class SigningSecretResponse extends ApiKeyView {
  /**
   * The request-signing secret, shown once. Sign with hmac-sha256 keyed by its UTF-8 bytes and
   * `keyid` set to the API key's id.
   * @example "qvs_live_9xT0b1m2QJ0XnY3vB9kz7LqP2sWc8RfA1Z0k3x"
   */
  signingSecret!: string;
}
