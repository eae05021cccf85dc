import type { IpAllowlist } from '@libs/net';
import type { TenantRateLimitPolicy } from '@app/gateway/rate-limit/rate-limit-policy';
import type { Scope } from './scopes';
import type { UsableSecret } from './signing-secrets';

/** What verification needs of a key, cached by the SHA-256 of the presented secret. */
export interface VerifiedKey {
  keyId: string;
  tenantId: string;
  scopes: Scope[];
  tenantStatus: string;
  expiresAt: number | null;
  revokedAt: number | null;
  /** Set when the presented secret is the previous one of a rotation: it dies at this instant. */
  secretValidUntil: number | null;
  /** The tenant's allowlist (settings.network.allowedIps), compiled; null when unrestricted. */
  tenantAllowlist: IpAllowlist | null;
  /** The key's own restrictions. */
  keyAllowlist: IpAllowlist | null;
  collections: string[] | null;
  enforcedFilter: Record<string, unknown> | null;
  /** The key or its tenant (settings.security.requireSignatures) refuses unsigned requests. */
  signatureRequired: boolean;
  /** Decrypted signing secrets: current, and previous until its grace ends. */
  signingSecrets: UsableSecret[];
  /** The tenant's rate limits: its plan's, with its settings' overrides. */
  rateLimits: TenantRateLimitPolicy;
}

interface Entry {
  value: VerifiedKey | null;
  until: number;
}

/**
 * A short-lived, bounded cache of key lookups (including misses, briefly, so a flood of well-formed
 * unknown keys does not reach the database one by one).
 *
 * Invalidation must beat a concurrent lookup that read the row before a revoke committed: every
 * invalidation bumps `epoch`, and a lookup may only store its result if the epoch it started under
 * is still current. So after revoke() returns, no stale "valid" entry can appear on this instance.
 */
export class KeyCache {
  private readonly entries = new Map<string, Entry>();
  private epoch = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly negativeTtlMs: number,
    private readonly maxEntries = 50_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(hashHex: string): VerifiedKey | null | undefined {
    const e = this.entries.get(hashHex);
    if (!e) return undefined;
    if (e.until <= this.now()) {
      this.entries.delete(hashHex);
      return undefined;
    }
    return e.value;
  }

  currentEpoch(): number {
    return this.epoch;
  }

  /** Stores a lookup result unless an invalidation happened since `startedAtEpoch`. */
  set(hashHex: string, value: VerifiedKey | null, startedAtEpoch: number): void {
    if (startedAtEpoch !== this.epoch) return;
    const ttl = value ? this.ttlMs : this.negativeTtlMs;
    if (ttl <= 0) return;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(hashHex, { value, until: this.now() + ttl });
  }

  invalidateKey(keyId: string): void {
    this.epoch++;
    for (const [hash, e] of this.entries) if (e.value?.keyId === keyId) this.entries.delete(hash);
  }

  invalidateTenant(tenantId: string): void {
    this.epoch++;
    for (const [hash, e] of this.entries)
      if (e.value?.tenantId === tenantId) this.entries.delete(hash);
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
  }
}
