import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { base62Encode, generateSecret, hashSecret, hashSecretHex, parseSecret } from './index';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// Deliberately a different algorithm (BigInt, digit-by-digit) from the implementation so a shared bug
// cannot make the known-vector test pass.
function referenceBase62(n: number, width: number): string {
  let value = BigInt(n);
  let out = '';
  while (value > 0n) {
    out = ALPHABET[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out.padStart(width, '0');
}

function withChecksum(body: string): string {
  return body + referenceBase62(crc32(body), 6);
}

describe('base62Encode', () => {
  it('encodes and left-pads', () => {
    expect(base62Encode(0, 6)).toBe('000000');
    expect(base62Encode(61, 2)).toBe('0z');
    expect(base62Encode(62, 2)).toBe('10');
    expect(base62Encode(0xffffffff, 6)).toBe(referenceBase62(0xffffffff, 6));
  });

  it('refuses values that do not fit or are not non-negative integers', () => {
    expect(() => base62Encode(62 ** 2, 2)).toThrow(RangeError);
    expect(() => base62Encode(-1, 6)).toThrow(RangeError);
    expect(() => base62Encode(1.5, 6)).toThrow(RangeError);
    expect(() => base62Encode(Number.NaN, 6)).toThrow(RangeError);
  });
});

describe('generateSecret / parseSecret', () => {
  it('round-trips for every prefix and environment', () => {
    for (const prefix of ['qvr', 'qvp', 'qvs', 'qvu'] as const) {
      for (const env of ['live', 'test'] as const) {
        const { secret, last4 } = generateSecret(prefix, env);
        expect(secret).toMatch(new RegExp(`^${prefix}_${env}_[0-9A-Za-z]{38}$`));
        expect(last4).toBe(secret.slice(-4));
        expect(parseSecret(secret, prefix)).toEqual({ ok: true, prefix, env });
      }
    }
  });

  it('accepts a known vector whose checksum is computed independently', () => {
    const body = 'qvr_live_0123456789abcdefghijABCDEFGHIJxy';
    const secret = withChecksum(body);
    expect(secret).toBe('qvr_live_0123456789abcdefghijABCDEFGHIJxy0OJZRI');
    expect(parseSecret(secret, 'qvr')).toEqual({ ok: true, prefix: 'qvr', env: 'live' });
    expect(parseSecret(withChecksum('qvp_test_' + 'z'.repeat(32)), 'qvp')).toEqual({
      ok: true,
      prefix: 'qvp',
      env: 'test',
    });
  });

  it('produces base62 randomness and 1,000 distinct keys', () => {
    const seen = new Set<string>();
    const counts = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const { secret } = generateSecret('qvr', 'test');
      const random = secret.slice('qvr_test_'.length, 'qvr_test_'.length + 32);
      expect(random).toMatch(/^[0-9A-Za-z]{32}$/);
      for (const ch of random) counts.set(ch, (counts.get(ch) ?? 0) + 1);
      seen.add(secret);
    }
    expect(seen.size).toBe(1000);
    // 32,000 draws over 62 symbols: each should appear ~516 times; a gross bias or a missing symbol
    // (e.g. an off-by-one in the alphabet) would fall far outside these loose bounds.
    expect(counts.size).toBe(62);
    for (const n of counts.values()) {
      expect(n).toBeGreaterThan(350);
      expect(n).toBeLessThan(700);
    }
  });

  it('rejects single-character mutations', () => {
    const { secret } = generateSecret('qvr', 'live');
    const positions = [0, 2, 3, 4, 7, 8, 9, 10, 20, 30, 40, 41, 42, 46];
    for (const pos of positions) {
      for (const replacement of ['0', 'a', 'Z', '_', '-', 'é']) {
        if (secret[pos] === replacement) continue;
        const mutated = secret.slice(0, pos) + replacement + secret.slice(pos + 1);
        const result = parseSecret(mutated, 'qvr');
        expect(result.ok).toBe(false);
      }
    }
    // Within the random and checksum parts a base62 substitution keeps the shape, so the CRC must catch it.
    for (let pos = 9; pos < secret.length; pos++) {
      const replacement = secret[pos] === 'q' ? 'r' : 'q';
      const mutated = secret.slice(0, pos) + replacement + secret.slice(pos + 1);
      expect(parseSecret(mutated, 'qvr')).toEqual({ ok: false, reason: 'bad_checksum' });
    }
  });

  it('rejects a valid key presented for the other prefix, and a swapped environment', () => {
    const { secret } = generateSecret('qvp', 'live');
    expect(parseSecret(secret, 'qvr')).toEqual({ ok: false, reason: 'malformed' });
    // Changing the env changes the checksummed body, so the key is well-formed but fails the CRC.
    expect(parseSecret(secret.replace('_live_', '_test_'), 'qvp')).toEqual({
      ok: false,
      reason: 'bad_checksum',
    });
  });

  it.each<[string, unknown]>([
    ['unknown prefix', withChecksum('qvx_live_' + 'a'.repeat(32))],
    ['unknown env', withChecksum('qvr_prod_' + 'a'.repeat(32))],
    ['upper-case env', withChecksum('qvr_LIVE_' + 'a'.repeat(32))],
    ['truncated', withChecksum('qvr_live_' + 'a'.repeat(32)).slice(0, -1)],
    ['extra char', withChecksum('qvr_live_' + 'a'.repeat(32)) + 'a'],
    ['leading whitespace', ' ' + withChecksum('qvr_live_' + 'a'.repeat(31))],
    ['trailing newline', withChecksum('qvr_live_' + 'a'.repeat(31)) + '\n'],
    ['non-base62 char', withChecksum('qvr_live_' + 'a'.repeat(31) + '+')],
    ['unicode', withChecksum('qvr_live_' + 'a'.repeat(31) + 'ä')],
    ['astral unicode', 'qvr_live_' + '😀'.repeat(19)],
    ['empty string', ''],
    ['10k chars', 'qvr_live_' + 'a'.repeat(10_000)],
    ['number', 12345],
    ['null', null],
    ['undefined', undefined],
    ['object', { toString: () => withChecksum('qvr_live_' + 'a'.repeat(32)) }],
    ['buffer', Buffer.from(withChecksum('qvr_live_' + 'a'.repeat(32)))],
  ])('treats %s as malformed', (_label, candidate) => {
    expect(parseSecret(candidate, 'qvr')).toEqual({ ok: false, reason: 'malformed' });
  });

  it('rejects a 10 MB string quickly', () => {
    const started = Date.now();
    expect(parseSecret('q'.repeat(10_000_000), 'qvr')).toEqual({ ok: false, reason: 'malformed' });
    expect(Date.now() - started).toBeLessThan(50);
  });
});

describe('hashSecret', () => {
  it('is the 32-byte SHA-256 of the UTF-8 secret', () => {
    const generated = generateSecret('qvr', 'live');
    const expected = createHash('sha256').update(generated.secret, 'utf8').digest();
    expect(generated.hash).toHaveLength(32);
    expect(generated.hash.equals(expected)).toBe(true);
    expect(hashSecret(generated.secret).equals(expected)).toBe(true);
    expect(hashSecret('abc').toString('hex')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(hashSecretHex(generated.secret)).toBe(expected.toString('hex'));
    // UTF-8, not Latin-1 or UTF-16.
    expect(hashSecretHex('é')).toBe(createHash('sha256').update('\u00e9', 'utf8').digest('hex'));
    expect(hashSecretHex('é')).not.toBe(createHash('sha256').update('é', 'latin1').digest('hex'));
  });
});
