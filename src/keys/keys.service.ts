import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { generateSecret, hashSecretHex, parseSecret } from '@libs/api-key';
import { compileFilter, FilterError } from '@libs/filter';
import { IpAllowlist, parseEntry } from '@libs/net';
import { AppConfig } from '@app/config/app-config';
import { isUuid } from '@app/common/uuid';
import { CommonErrorCode, commonError } from '@app/common/errors/common-errors';
import { Db, TenantRequirement, Tx } from '@app/database/db';
import { OutboxService } from '@app/events/outbox.service';
import { QuotasService } from '@app/quotas/quotas.service';
import { CreateKeyDto } from './dto/create-key.dto';
import { ApiKeyView, ApiKeyWithSecret, KeyStatus, SigningSecretResponse } from './dto/key.response';
import { SigningSecretDto } from './dto/rotate-key.dto';
import { SigningSecrets } from './signing-secrets';
import { KeyCache, VerifiedKey } from './key-cache';
import {
  policyFromRow,
  TENANT_POLICY_COLUMNS,
  type TenantPolicyRow,
} from '@app/gateway/rate-limit/rate-limit-policy';
import { KeyInvalidationService } from './key-invalidation.service';
import { KeysErrorCode, keysError } from './keys.errors';
import { lastUsedStatements } from './last-used';
import { Scope } from './scopes';

interface KeyRow {
  tenant_id: string;
  id: string;
  name: string;
  scopes: Scope[];
  secret_hash: Buffer;
  secret_last4: string;
  previous_secret_hash: Buffer | null;
  previous_secret_expires_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  rotated_at: Date | null;
  created_at: Date;
  allowed_ips: string[] | null;
  collections: string[] | null;
  enforced_filter: Record<string, unknown> | null;
  signing_secret_enc: Buffer | null;
  previous_signing_secret_enc: Buffer | null;
  previous_signing_secret_expires_at: Date | null;
  require_signature: boolean;
}

const KEY_FIELDS = [
  'tenant_id',
  'id',
  'name',
  'scopes',
  'secret_hash',
  'secret_last4',
  'previous_secret_hash',
  'previous_secret_expires_at',
  'expires_at',
  'revoked_at',
  'last_used_at',
  'rotated_at',
  'created_at',
  'allowed_ips',
  'collections',
  'enforced_filter',
  'signing_secret_enc',
  'previous_signing_secret_enc',
  'previous_signing_secret_expires_at',
  'require_signature',
];
const keyColumns = (alias?: string) =>
  KEY_FIELDS.map((f) => (alias ? `${alias}.${f}` : f)).join(', ');
const KEY_COLUMNS = keyColumns();

const DEFAULT_GRACE_SECONDS = 3600;
const LAST_USED_FLUSH_MS = 15_000;
const LAST_USED_TENANTS_PER_FLUSH = 200;

/** Issues, verifies, rotates and revokes API keys. Only SHA-256 hashes of secrets are stored. */
@Injectable()
export class KeysService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('KeysService');
  private readonly cache: KeyCache;
  private readonly lastUsed = new Map<string, { tenantId: string; at: Date }>();
  private flushTimer?: NodeJS.Timeout;

  constructor(
    private readonly db: Db,
    private readonly outbox: OutboxService,
    private readonly config: AppConfig,
    private readonly invalidation: KeyInvalidationService,
    private readonly signingSecrets: SigningSecrets,
    private readonly quotas: QuotasService,
  ) {
    this.cache = invalidation.cache;
  }

  onModuleInit(): void {
    this.flushTimer = setInterval(() => void this.flushLastUsed(), LAST_USED_FLUSH_MS);
    this.flushTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.flushLastUsed();
  }

  // ------------------------------------------------------------------ management

  async issue(
    tenantId: string,
    dto: CreateKeyDto,
    require: TenantRequirement = 'active',
  ): Promise<ApiKeyWithSecret> {
    const expiresAt = dto.expiresAt ? new Date(dto.expiresAt) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw commonError(CommonErrorCode.ValidationFailed, 'expiresAt must be in the future.', {
        errors: [{ path: 'expiresAt', message: 'must be in the future' }],
      });
    }
    validateRestrictions(dto);
    if (dto.requireSignature && !dto.signing) {
      throw keysError(
        KeysErrorCode.InvalidRestriction,
        'requireSignature needs signing: true (a key must be able to sign).',
        {
          errors: [{ path: 'requireSignature', message: 'needs signing: true' }],
        },
      );
    }
    const generated = generateSecret('qvr', this.config.env.QUIVER_KEY_ENV);
    const id = randomUUID();
    const signing = dto.signing ? this.signingSecrets.create(tenantId, id) : undefined;
    const row = await this.quotas.write(
      tenantId,
      async (tx) => {
        const [created] = await tx.query<KeyRow>(
          `INSERT INTO api_keys (tenant_id, id, name, scopes, secret_hash, secret_last4, expires_at,
             allowed_ips, collections, enforced_filter, signing_secret_enc, require_signature)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12) RETURNING ${KEY_COLUMNS}`,
          [
            tenantId,
            id,
            dto.name,
            dto.scopes,
            generated.hash,
            generated.last4,
            expiresAt,
            dto.allowedIps ?? null,
            dto.collections ?? null,
            dto.filter ? JSON.stringify(dto.filter) : null,
            signing?.sealed ?? null,
            dto.requireSignature ?? false,
          ],
        );
        await this.quotas.add(tx, tenantId, 'apiKeys', 1);
        await this.quotas.enforce(tx, tenantId, ['apiKeys']);
        await this.outbox.record(tx, tenantId, 'api_key.created', {
          keyId: id,
          name: dto.name,
          scopes: dto.scopes,
          restricted: Boolean(dto.allowedIps || dto.collections || dto.filter),
        });
        return created;
      },
      { require },
    );
    return {
      ...toView(row),
      secret: generated.secret,
      ...(signing ? { signingSecret: signing.secret } : {}),
    };
  }

  /**
   * Adds a signing secret to a key, or rotates it: the old one keeps verifying for the grace period
   * (one previous secret at most, as for the key itself).
   */
  async rotateSigningSecret(
    tenantId: string,
    keyId: string,
    dto: SigningSecretDto,
  ): Promise<SigningSecretResponse> {
    const grace = dto.gracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
    const signing = this.signingSecrets.create(tenantId, keyId);
    const row = await this.db.tenant(tenantId, async (tx) => {
      const current = await this.findForUpdate(tx, keyId, true);
      if (current.revoked_at)
        throw keysError(KeysErrorCode.KeyAlreadyRevoked, 'This key is revoked.');
      const [updated] = await tx.query<KeyRow>(
        `UPDATE api_keys SET
           previous_signing_secret_enc = CASE WHEN $2::int > 0 THEN signing_secret_enc END,
           previous_signing_secret_expires_at = CASE WHEN $2::int > 0 AND signing_secret_enc IS NOT NULL
             THEN now() + make_interval(secs => $2::int) END,
           signing_secret_enc = $3, require_signature = COALESCE($4, require_signature), updated_at = now()
         WHERE id = $1 RETURNING ${KEY_COLUMNS}`,
        [keyId, grace, signing.sealed, dto.requireSignature ?? null],
      );
      await this.outbox.record(tx, tenantId, 'api_key.signing_secret_rotated', {
        keyId,
        gracePeriodSeconds: grace,
        requireSignature: updated.require_signature,
      });
      return updated;
    });
    this.invalidation.key(keyId);
    return { ...toView(row), signingSecret: signing.secret };
  }

  async list(tenantId: string): Promise<ApiKeyView[]> {
    const rows = await this.db.tenant(tenantId, (tx) =>
      tx.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_at, id`),
    );
    return rows.map(toView);
  }

  async get(tenantId: string, keyId: string): Promise<ApiKeyView> {
    return this.db.tenant(tenantId, async (tx) =>
      toView(await this.findForUpdate(tx, keyId, false)),
    );
  }

  async revoke(tenantId: string, keyId: string): Promise<ApiKeyView> {
    const row = await this.db.tenant(tenantId, async (tx) => {
      const current = await this.findForUpdate(tx, keyId, true);
      if (current.revoked_at)
        throw keysError(KeysErrorCode.KeyAlreadyRevoked, 'This key is already revoked.');
      const [updated] = await tx.query<KeyRow>(
        `UPDATE api_keys SET revoked_at = now(), updated_at = now() WHERE id = $1 RETURNING ${KEY_COLUMNS}`,
        [keyId],
      );
      await this.quotas.add(tx, tenantId, 'apiKeys', -1);
      await this.outbox.record(tx, tenantId, 'api_key.revoked', { keyId });
      return updated;
    });
    // After commit and before returning: from here on this instance refuses the key.
    this.invalidation.key(keyId);
    return toView(row);
  }

  async rotate(
    tenantId: string,
    keyId: string,
    graceSeconds = DEFAULT_GRACE_SECONDS,
  ): Promise<ApiKeyWithSecret> {
    const generated = generateSecret('qvr', this.config.env.QUIVER_KEY_ENV);
    const row = await this.db.tenant(tenantId, async (tx) => {
      const current = await this.findForUpdate(tx, keyId, true);
      if (current.revoked_at)
        throw keysError(KeysErrorCode.KeyAlreadyRevoked, 'A revoked key cannot be rotated.');
      const [updated] = await tx.query<KeyRow>(
        `UPDATE api_keys SET
           previous_secret_hash = CASE WHEN $2::int > 0 THEN secret_hash END,
           previous_secret_expires_at = CASE WHEN $2::int > 0 THEN now() + make_interval(secs => $2::int) END,
           secret_hash = $3, secret_last4 = $4, rotated_at = now(), updated_at = now()
         WHERE id = $1 RETURNING ${KEY_COLUMNS}`,
        [keyId, graceSeconds, generated.hash, generated.last4],
      );
      await this.outbox.record(tx, tenantId, 'api_key.rotated', {
        keyId,
        gracePeriodSeconds: graceSeconds,
      });
      return updated;
    });
    this.invalidation.key(keyId);
    return { ...toView(row), secret: generated.secret };
  }

  /** Tenant lifecycle changes make cached tenant states stale. */
  forgetTenant(tenantId: string): void {
    this.invalidation.tenant(tenantId);
  }

  private async findForUpdate(tx: Tx, keyId: string, lock: boolean): Promise<KeyRow> {
    if (!isUuid(keyId)) throw keysError(KeysErrorCode.KeyNotFound, 'No such API key.');
    const [row] = await tx.query<KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [keyId],
    );
    if (!row) throw keysError(KeysErrorCode.KeyNotFound, 'No such API key.');
    return row;
  }

  // ------------------------------------------------------------------ verification

  /**
   * Checks a presented secret. Format and checksum first (no I/O), then the cache, then one indexed
   * lookup by hash; the stored hash is compared again in constant time.
   */
  async verify(presented: string): Promise<VerifiedKey> {
    const parsed = parseSecret(presented, 'qvr');
    if (!parsed.ok) {
      throw commonError(
        CommonErrorCode.InvalidApiKey,
        'The API key is malformed or its checksum does not match.',
      );
    }
    const hashHex = hashSecretHex(presented);
    let key = this.cache.get(hashHex);
    if (key === undefined) {
      const epoch = this.cache.currentEpoch();
      key = await this.lookup(Buffer.from(hashHex, 'hex'), hashHex);
      this.cache.set(hashHex, key, epoch);
    }
    if (!key) throw commonError(CommonErrorCode.InvalidApiKey, 'The API key is not valid.');
    const now = Date.now();
    if (key.revokedAt !== null)
      throw keysError(KeysErrorCode.KeyRevoked, 'This API key has been revoked.');
    if (key.expiresAt !== null && key.expiresAt <= now)
      throw keysError(KeysErrorCode.KeyExpired, 'This API key has expired.');
    if (key.secretValidUntil !== null && key.secretValidUntil <= now) {
      throw keysError(
        KeysErrorCode.KeyExpired,
        'This secret was rotated and its grace period is over.',
      );
    }
    this.lastUsed.set(key.keyId, { tenantId: key.tenantId, at: new Date(now) });
    return key;
  }

  private async lookup(hash: Buffer, hashHex: string): Promise<VerifiedKey | null> {
    const rows = await this.db.keyLookup(hashHex, (tx) =>
      tx.query<
        KeyRow &
          TenantPolicyRow & {
            tenant_status: string;
            tenant_allowed_ips: string[] | null;
            tenant_requires_signatures: boolean;
          }
      >(
        `SELECT ${keyColumns('k')}, t.status AS tenant_status,
                t.settings #> '{network,allowedIps}' AS tenant_allowed_ips,
                COALESCE((t.settings #>> '{security,requireSignatures}')::boolean, false) AS tenant_requires_signatures,
                ${TENANT_POLICY_COLUMNS}
           FROM api_keys k JOIN tenants t ON t.id = k.tenant_id LEFT JOIN plans p ON p.name = t.plan
          WHERE k.secret_hash = $1 OR k.previous_secret_hash = $1`,
        [hash],
      ),
    );
    const row = rows[0];
    if (!row) return null;
    const isCurrent = timingSafeEqual(row.secret_hash, hash);
    const isPrevious =
      !isCurrent &&
      row.previous_secret_hash !== null &&
      timingSafeEqual(row.previous_secret_hash, hash);
    if (!isCurrent && !isPrevious) return null;
    return {
      keyId: row.id,
      tenantId: row.tenant_id,
      scopes: row.scopes,
      tenantStatus: row.tenant_status,
      expiresAt: row.expires_at?.getTime() ?? null,
      revokedAt: row.revoked_at?.getTime() ?? null,
      secretValidUntil: isPrevious ? (row.previous_secret_expires_at?.getTime() ?? 0) : null,
      tenantAllowlist: row.tenant_allowed_ips?.length
        ? IpAllowlist.compile(row.tenant_allowed_ips)
        : null,
      keyAllowlist: row.allowed_ips?.length ? IpAllowlist.compile(row.allowed_ips) : null,
      collections: row.collections,
      enforcedFilter: row.enforced_filter,
      signatureRequired: row.require_signature || row.tenant_requires_signatures,
      signingSecrets: this.signingSecrets.open(
        row.tenant_id,
        row.id,
        row.signing_secret_enc,
        row.previous_signing_secret_enc,
        row.previous_signing_secret_expires_at,
      ),
      rateLimits: policyFromRow(row),
    };
  }

  /**
   * last_used_at is written in batches, off the request path: every tenant's keys in one transaction
   * and one round trip (Db.perTenant), in chunks, instead of a transaction per tenant.
   */
  async flushLastUsed(): Promise<void> {
    if (this.lastUsed.size === 0) return;
    const work = lastUsedStatements(
      [...this.lastUsed].map(([keyId, { tenantId, at }]) => ({ keyId, tenantId, at })),
    );
    this.lastUsed.clear();
    for (let i = 0; i < work.length; i += LAST_USED_TENANTS_PER_FLUSH) {
      const chunk = work.slice(i, i + LAST_USED_TENANTS_PER_FLUSH);
      try {
        await this.db.perTenant(chunk);
      } catch (err) {
        this.logger.warn({ err, tenants: chunk.length }, 'could not record key usage');
      }
    }
  }
}

/** Restrictions are checked when the key is made, so the hot path only compiles what is valid. */
function validateRestrictions(dto: CreateKeyDto): void {
  const errors: Array<{ path: string; message: string }> = [];
  dto.allowedIps?.forEach((entry, i) => {
    const parsed = parseEntry(entry);
    if (!parsed.ok) {
      errors.push({
        path: `allowedIps[${i}]`,
        message:
          parsed.problem === 'invalid'
            ? `"${entry}" is not an IP address or CIDR`
            : `"${entry}" allows every address; list the networks to allow instead`,
      });
    }
  });
  if (dto.filter) {
    try {
      compileFilter(dto.filter, { column: 'metadata', paramOffset: 0 });
    } catch (err) {
      if (!(err instanceof FilterError)) throw err;
      errors.push({ path: `filter.${err.path}`, message: err.message });
    }
  }
  if (errors.length) {
    throw keysError(
      KeysErrorCode.InvalidRestriction,
      errors.map((e) => `${e.path}: ${e.message}`).join('; '),
      {
        errors,
      },
    );
  }
}

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

function toView(row: KeyRow): ApiKeyView {
  const now = Date.now();
  const status: KeyStatus = row.revoked_at
    ? 'revoked'
    : row.expires_at && row.expires_at.getTime() <= now
      ? 'expired'
      : 'active';
  const previousLive =
    row.previous_secret_expires_at && row.previous_secret_expires_at.getTime() > now;
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    status,
    last4: row.secret_last4,
    expiresAt: iso(row.expires_at),
    revokedAt: iso(row.revoked_at),
    lastUsedAt: iso(row.last_used_at),
    rotatedAt: iso(row.rotated_at),
    previousSecretExpiresAt: previousLive ? iso(row.previous_secret_expires_at) : null,
    allowedIps: row.allowed_ips,
    collections: row.collections,
    filter: row.enforced_filter,
    signing: {
      enabled: row.signing_secret_enc !== null,
      required: row.require_signature,
      previousSecretExpiresAt:
        row.previous_signing_secret_expires_at &&
        row.previous_signing_secret_expires_at.getTime() > now
          ? iso(row.previous_signing_secret_expires_at)
          : null,
    },
    createdAt: row.created_at.toISOString(),
  };
}
