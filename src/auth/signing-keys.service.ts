import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  createLocalJWKSet,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importPKCS8,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
} from 'jose';
import type { SecretBox } from '@libs/crypto';
import { Db } from '@app/database/db';
import { SECRET_BOX } from '@app/secrets/secrets.module';
import { AuthErrorCode, authError } from './auth.errors';

export const ALG = 'ES256';
/** How long the key set is trusted before it is read again (rotation on another instance). */
const REFRESH_MS = 30_000;

interface KeyRow {
  kid: string;
  public_jwk: JWK;
  private_key_enc: Buffer;
  created_at: Date;
}

interface KeySet {
  signer: { kid: string; key: Awaited<ReturnType<typeof importPKCS8>> };
  jwks: JSONWebKeySet;
  verify: ReturnType<typeof createLocalJWKSet>;
  loadedAt: number;
}

/**
 * The ES256 keys that sign access tokens. The newest unretired key signs; every unretired key
 * verifies and is published at the JWKS endpoint. rotate() adds a new signer and keeps the old ones
 * verifying; retire() drops a key from the set once no token it signed can still be valid.
 */
@Injectable()
export class SigningKeysService {
  private readonly logger = new Logger('SigningKeys');
  private current?: Promise<KeySet>;

  constructor(
    private readonly db: Db,
    @Inject(SECRET_BOX) private readonly box: SecretBox | null,
  ) {}

  async sign(claims: JWTPayload, ttlSeconds: number, issuer: string, audience: string) {
    const { signer } = await this.keys();
    return new SignJWT(claims)
      .setProtectedHeader({ alg: ALG, kid: signer.kid, typ: 'at+jwt' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .setJti(randomUUID())
      .sign(signer.key);
  }

  /** Verifies signature (ES256 only, by kid), issuer, audience and expiry; throws 401 otherwise. */
  async verify(token: string, issuer: string, audience: string): Promise<JWTPayload> {
    let set = await this.keys();
    try {
      return await this.verifyWith(set, token, issuer, audience);
    } catch (err) {
      // A kid this instance has not seen yet: another instance may have rotated; reload once.
      if ((err as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw this.refused();
      this.current = undefined;
      set = await this.keys();
      return this.verifyWith(set, token, issuer, audience).catch(() => {
        throw this.refused();
      });
    }
  }

  async jwks(): Promise<JSONWebKeySet> {
    return (await this.keys()).jwks;
  }

  /** A new signing key; the previous ones keep verifying until retired. Returns the new kid. */
  async rotate(): Promise<string> {
    const kid = await this.create();
    this.current = undefined;
    return kid;
  }

  async retire(kid: string): Promise<boolean> {
    const n = await this.db.platform((tx) =>
      tx.execute(
        `UPDATE auth_signing_keys SET retired_at = now() WHERE kid = $1 AND retired_at IS NULL
           AND kid <> (SELECT kid FROM auth_signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1)`,
        [kid],
      ),
    );
    this.current = undefined;
    return n > 0;
  }

  private async verifyWith(set: KeySet, token: string, issuer: string, audience: string) {
    const { payload } = await jwtVerify(token, set.verify, {
      algorithms: [ALG],
      issuer,
      audience,
      typ: 'at+jwt',
      clockTolerance: 5,
    });
    return payload;
  }

  private refused() {
    return authError(AuthErrorCode.InvalidAccessToken, 'The access token is not valid.');
  }

  private keys(): Promise<KeySet> {
    const cached = this.current;
    if (cached) {
      return cached.then((set) => {
        if (Date.now() - set.loadedAt < REFRESH_MS) return set;
        this.current = undefined;
        return this.keys();
      });
    }
    const loading = this.load().catch((err: unknown) => {
      this.current = undefined;
      throw err;
    });
    this.current = loading;
    return loading;
  }

  private async load(): Promise<KeySet> {
    const box = this.requireBox();
    let rows = await this.rows();
    if (rows.length === 0) {
      await this.create();
      rows = await this.rows();
    }
    const newest = rows[0];
    const key = await importPKCS8(
      box.open(newest.private_key_enc, `auth-signing-key:${newest.kid}`).toString('utf8'),
      ALG,
    );
    const jwks: JSONWebKeySet = {
      keys: rows.map((r) => ({ ...r.public_jwk, kid: r.kid, alg: ALG, use: 'sig' })),
    };
    return {
      signer: { kid: newest.kid, key },
      jwks,
      verify: createLocalJWKSet(jwks),
      loadedAt: Date.now(),
    };
  }

  private rows(): Promise<KeyRow[]> {
    return this.db.platform((tx) =>
      tx.query<KeyRow>(
        `SELECT kid, public_jwk, private_key_enc, created_at FROM auth_signing_keys
          WHERE retired_at IS NULL ORDER BY created_at DESC, kid`,
      ),
    );
  }

  private async create(): Promise<string> {
    const box = this.requireBox();
    const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
    const kid = randomUUID();
    const publicJwk = await exportJWK(publicKey);
    const sealed = box.seal(Buffer.from(await exportPKCS8(privateKey)), `auth-signing-key:${kid}`);
    await this.db.platform((tx) =>
      tx.execute(
        `INSERT INTO auth_signing_keys (kid, alg, public_jwk, private_key_enc, created_at)
         VALUES ($1, $2, $3::jsonb, $4, clock_timestamp())`,
        [kid, ALG, JSON.stringify(publicJwk), sealed],
      ),
    );
    this.logger.log({ kid }, 'created an access-token signing key');
    return kid;
  }

  private requireBox(): SecretBox {
    if (!this.box) {
      throw authError(
        AuthErrorCode.SessionsUnavailable,
        'Set QUIVER_ENCRYPTION_KEY: the keys that sign session tokens are stored encrypted.',
      );
    }
    return this.box;
  }
}
