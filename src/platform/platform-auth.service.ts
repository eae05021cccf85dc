import { Injectable, Logger } from '@nestjs/common';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { generateSecret, hashSecret, parseSecret } from '@libs/api-key';
import { AppConfig } from '@app/config/app-config';
import { CommonErrorCode, commonError } from '@app/common/errors/common-errors';
import { ConfigError } from '@app/config/config.schema';
import { Db } from '@app/database/db';

interface TokenRow {
  id: string;
  token_hash: Buffer;
  revoked_at: Date | null;
}

const CACHE_TTL_MS = 10_000;

/** Platform admin credentials: bootstrap on first start, and verification. */
@Injectable()
export class PlatformAuthService {
  private readonly logger = new Logger('PlatformAuth');
  private readonly cache = new Map<string, { tokenId: string | null; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly config: AppConfig,
  ) {}

  /**
   * If no platform admin credential exists, stores the hash of QUIVER_BOOTSTRAP_TOKEN or of a new
   * token that is printed once. An advisory lock keeps two instances starting together from both
   * minting one.
   */
  async bootstrap(): Promise<void> {
    const fromEnv = this.config.env.QUIVER_BOOTSTRAP_TOKEN;
    if (fromEnv !== undefined && !parseSecret(fromEnv, 'qvp').ok) {
      throw new ConfigError(
        'Invalid configuration:\n  QUIVER_BOOTSTRAP_TOKEN: must be a platform token in qvp_<env>_... format ' +
          '(leave it unset and the first start prints one)',
      );
    }
    const minted = await this.db.platform(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('quiver:platform-bootstrap'))`);
      const [{ count }] = await tx.query<{ count: string }>(
        `SELECT count(*) FROM platform_tokens WHERE revoked_at IS NULL`,
      );
      if (Number(count) > 0) return null;
      const secret = fromEnv ?? generateSecret('qvp', this.config.env.QUIVER_KEY_ENV).secret;
      await tx.execute(`INSERT INTO platform_tokens (id, name, token_hash) VALUES ($1, $2, $3)`, [
        randomUUID(),
        fromEnv ? 'bootstrap (QUIVER_BOOTSTRAP_TOKEN)' : 'bootstrap (generated)',
        hashSecret(secret),
      ]);
      return fromEnv ? 'env' : secret;
    });
    if (minted === 'env') {
      this.logger.log('platform admin token taken from QUIVER_BOOTSTRAP_TOKEN');
    } else if (minted) {
      // Printed once, to the console, never to the structured log; only its hash is stored.
      process.stdout.write(
        `\n================ Quiver platform admin token (shown once) ================\n` +
          `${minted}\n` +
          `Use it as "Authorization: Bearer <token>" on /v1/admin/*. Only its hash is stored.\n` +
          `==========================================================================\n\n`,
      );
    }
  }

  async verify(presented: string): Promise<string> {
    if (!parseSecret(presented, 'qvp').ok) {
      throw commonError(CommonErrorCode.InvalidPlatformToken, 'The platform token is malformed.');
    }
    const hash = hashSecret(presented);
    const hex = hash.toString('hex');
    const cached = this.cache.get(hex);
    let tokenId: string | null;
    if (cached && cached.until > Date.now()) {
      tokenId = cached.tokenId;
    } else {
      const [row] = await this.db.platform((tx) =>
        tx.query<TokenRow>(
          `SELECT id, token_hash, revoked_at FROM platform_tokens WHERE token_hash = $1`,
          [hash],
        ),
      );
      tokenId = row && !row.revoked_at && timingSafeEqual(row.token_hash, hash) ? row.id : null;
      if (this.cache.size > 1000) this.cache.clear();
      this.cache.set(hex, { tokenId, until: Date.now() + CACHE_TTL_MS });
    }
    if (!tokenId)
      throw commonError(CommonErrorCode.InvalidPlatformToken, 'The platform token is not valid.');
    return tokenId;
  }
}
