import { checkContentDigest, contentDigest } from './content-digest';

// RFC 9530 / RFC 9421 B.2 test body and its published digests.
const BODY = Buffer.from('{"hello": "world"}');
const SHA256 = 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:';
const SHA512 =
  'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:';

describe('contentDigest', () => {
  it('reproduces the published sha-256 digest of the RFC test body', () => {
    expect(contentDigest(BODY)).toBe(SHA256);
  });

  it('digests an empty body', () => {
    expect(contentDigest(Buffer.alloc(0))).toBe(
      'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:',
    );
  });
});

describe('checkContentDigest', () => {
  it('accepts sha-256, sha-512, both, and ignores unknown algorithms next to them', () => {
    expect(checkContentDigest(SHA256, BODY)).toEqual({ ok: true });
    expect(checkContentDigest(SHA512, BODY)).toEqual({ ok: true });
    expect(checkContentDigest(`${SHA512}, ${SHA256}`, BODY)).toEqual({ ok: true });
    expect(checkContentDigest(`md5=:AAAA:, ${SHA256}`, BODY)).toEqual({ ok: true });
  });

  it('refuses a digest of another body', () => {
    expect(checkContentDigest(SHA256, Buffer.from('{"hello": "world!"}'))).toMatchObject({
      ok: false,
      reason: 'content_digest_mismatch',
    });
  });

  it('refuses when one of two supported digests is wrong', () => {
    const wrong512 = `sha-512=:${Buffer.alloc(64).toString('base64')}:`;
    expect(checkContentDigest(`${SHA256}, ${wrong512}`, BODY)).toMatchObject({
      reason: 'content_digest_mismatch',
    });
  });

  it('refuses a digest of the wrong length', () => {
    expect(checkContentDigest('sha-256=:AAAA:', BODY)).toMatchObject({
      reason: 'content_digest_mismatch',
    });
  });

  it('refuses a field with only unsupported algorithms', () => {
    expect(checkContentDigest('md5=:AAAAAAAAAAAAAAAAAAAAAA==:', BODY)).toMatchObject({
      reason: 'unsupported_digest',
    });
    expect(checkContentDigest('', BODY)).toMatchObject({ reason: 'unsupported_digest' });
  });

  it.each([
    ['not a dictionary', 'sha-256 X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE='],
    ['a string instead of bytes', 'sha-256="X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="'],
    ['an upper-case algorithm', 'SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:'],
    ['parameters on the digest', `${SHA256};p=1`],
    ['bad base64', 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE:'],
    ['a repeated algorithm', `${SHA256}, ${SHA256}`],
    ['a huge field', `${SHA256}, x=:${'A'.repeat(9000)}:`],
  ])('refuses %s as a mismatch', (_name, field) => {
    expect(checkContentDigest(field, BODY)).toMatchObject({
      ok: false,
      reason: 'content_digest_mismatch',
    });
  });
});
