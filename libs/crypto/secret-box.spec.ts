import { randomBytes } from 'node:crypto';
import { SecretBox, SecretBoxError } from './secret-box';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('opens what it sealed, for the same owner', () => {
    const secret = randomBytes(32);
    const sealed = box.seal(secret, 'api_key:t1:k1');
    expect(sealed.includes(secret)).toBe(false);
    expect(box.open(sealed, 'api_key:t1:k1').equals(secret)).toBe(true);
  });

  it('refuses another owner, another key, a flipped bit or a truncated box', () => {
    const sealed = box.seal(Buffer.from('s3cret'), 'api_key:t1:k1');
    expect(() => box.open(sealed, 'api_key:t2:k1')).toThrow(SecretBoxError);
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'api_key:t1:k1')).toThrow(
      SecretBoxError,
    );
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1] ^= 1;
    expect(() => box.open(flipped, 'api_key:t1:k1')).toThrow(SecretBoxError);
    expect(() => box.open(sealed.subarray(0, 20), 'api_key:t1:k1')).toThrow(SecretBoxError);
  });

  it('takes a 32-byte key in base64 or base64url, and nothing else', () => {
    const key = randomBytes(32);
    const sealed = SecretBox.fromBase64(key.toString('base64')).seal(Buffer.from('x'), 'o');
    expect(SecretBox.fromBase64(key.toString('base64url')).open(sealed, 'o').toString()).toBe('x');
    expect(() => SecretBox.fromBase64(randomBytes(16).toString('base64'))).toThrow(SecretBoxError);
  });
});
