import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBoxError extends Error {}

/**
 * Encrypts small secrets at rest (signing secrets now; SSO client secrets and bind passwords later)
 * with AES-256-GCM. The associated data binds a ciphertext to its owner (for example
 * `api_key:<tenant>:<key>`), so a ciphertext copied into another row does not decrypt there.
 * Layout: version (1 byte) | IV (12) | tag (16) | ciphertext.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new SecretBoxError('the encryption key must be 32 bytes');
    this.key = Buffer.from(key);
  }

  /** Accepts the key as base64 or base64url of 32 bytes (what `openssl rand -base64 32` prints). */
  static fromBase64(text: string): SecretBox {
    const key = Buffer.from(text.trim(), /[-_]/.test(text) ? 'base64url' : 'base64');
    return new SecretBox(key);
  }

  seal(plaintext: Buffer, associatedData: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
  }

  open(sealed: Buffer, associatedData: string): Buffer {
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) {
      throw new SecretBoxError('not a sealed secret of a known version');
    }
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([
        decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new SecretBoxError('the secret does not open with this key and owner');
    }
  }
}
