import { seededRandom } from '@libs/prng';
import { parseSignature } from './parse-signature';
import { signRequest } from './sign-request';
import type { SignableRequest } from './signature-types';
import { verifySignature } from './verify-signature';

const SECRET = Buffer.from('0123456789abcdef0123456789abcdef');
const SIG = ':' + Buffer.alloc(32, 7).toString('base64') + ':';

/** Without a second argument, a well-formed (but not matching) signature is sent. */
function headers(input: string | undefined, ...rest: [signature?: string | undefined]) {
  const signature = rest.length === 0 ? `sig1=${SIG}` : rest[0];
  return { 'signature-input': input, signature };
}

function reason(h: SignableRequest['headers']): string {
  const result = parseSignature(h);
  return result.ok ? 'ok' : result.reason;
}

describe('parseSignature', () => {
  it('reads what signRequest writes', () => {
    const req: SignableRequest = {
      method: 'POST',
      targetUri: 'https://api.example.com/v1/collections/x/search?a=1',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('{}'),
    };
    const added = signRequest(req, {
      keyId: 'key-1',
      secret: SECRET,
      created: 1_700_000_000,
      expires: 1_700_000_300,
      nonce: 'n-1',
      tag: 'quiver',
    });
    const result = parseSignature(added);
    expect(result).toEqual({
      ok: true,
      sig: {
        label: 'sig1',
        keyId: 'key-1',
        alg: undefined,
        created: 1_700_000_000,
        expires: 1_700_000_300,
        nonce: 'n-1',
        tag: 'quiver',
        components: ['@method', '@target-uri', 'content-digest'],
        signatureParams: added['signature-input'].slice('sig1='.length),
        signature: expect.any(Buffer),
      },
    });
  });

  it('keeps the signature parameters exactly as received, odd spacing included', () => {
    const input = '(  "@method"   "@target-uri" );created=1; keyid="k";alg="hmac-sha256"';
    const result = parseSignature(headers(`sig1=${input}`));
    expect(result.ok && result.sig.signatureParams).toBe(input);
    expect(result.ok && result.sig.alg).toBe('hmac-sha256');
  });

  it('joins repeated field lines before parsing', () => {
    const result = parseSignature({
      'signature-input': ['sig1=("@method");created=1;keyid="k"'],
      signature: [`sig1=${SIG}`],
    });
    expect(result.ok).toBe(true);
  });

  it('reports a request without signature fields as missing_signature', () => {
    expect(reason({})).toBe('missing_signature');
    expect(reason(headers('', ''))).toBe('missing_signature');
    expect(reason(headers(undefined, undefined))).toBe('missing_signature');
  });

  it('refuses one signature field without the other', () => {
    expect(reason(headers(undefined))).toBe('malformed_signature');
    expect(reason(headers('sig1=("@method");created=1;keyid="k"', undefined))).toBe(
      'malformed_signature',
    );
  });

  it('refuses more than one signature, in either field', () => {
    const two = 'a=("@method");created=1;keyid="k", b=("@method");created=1;keyid="k"';
    expect(reason(headers(two, `a=${SIG}`))).toBe('multiple_signatures');
    expect(reason(headers('a=("@method");created=1;keyid="k"', `a=${SIG}, b=${SIG}`))).toBe(
      'multiple_signatures',
    );
  });

  it('refuses a signature whose label does not match its input', () => {
    expect(reason(headers('sig1=("@method");created=1;keyid="k"', `sig2=${SIG}`))).toBe(
      'malformed_signature',
    );
  });

  it.each([
    ['a string signature', 'sig1="abc"'],
    ['a token signature', 'sig1=abc'],
    ['an inner-list signature', `sig1=(${SIG})`],
    ['a signature with parameters', `sig1=${SIG};x=1`],
  ])('refuses %s', (_name, signature) => {
    expect(reason(headers('sig1=("@method");created=1;keyid="k"', signature))).toBe(
      'malformed_signature',
    );
  });

  it.each([
    ['an input that is not an inner list', 'sig1="@method";created=1;keyid="k"'],
    ['a token component', 'sig1=(method);created=1;keyid="k"'],
    ['an integer component', 'sig1=(1);created=1;keyid="k"'],
    ['a component with ;sf', 'sig1=("content-type";sf);created=1;keyid="k"'],
    ['a component with ;key', 'sig1=("x-dict";key="a");created=1;keyid="k"'],
    ['a component with ;bs', 'sig1=("x-a";bs);created=1;keyid="k"'],
    ['a component with ;req', 'sig1=("@method";req);created=1;keyid="k"'],
    ['@query-param;name', 'sig1=("@query-param";name="a");created=1;keyid="k"'],
    ['@request-target', 'sig1=("@request-target");created=1;keyid="k"'],
    ['an unknown derived component', 'sig1=("@status");created=1;keyid="k"'],
    ['an upper-case field name', 'sig1=("Content-Type");created=1;keyid="k"'],
    ['a duplicate component', 'sig1=("@method" "date" "@method");created=1;keyid="k"'],
    [
      '21 components',
      `sig1=(${Array.from({ length: 21 }, (_, i) => `"x-${i}"`).join(' ')});created=1;keyid="k"`,
    ],
    ['an unknown parameter', 'sig1=("@method");created=1;keyid="k";foo="bar"'],
    ['a string created', 'sig1=("@method");created="1";keyid="k"'],
    ['a negative created', 'sig1=("@method");created=-1;keyid="k"'],
    ['a decimal created', 'sig1=("@method");created=1.5;keyid="k"'],
    ['a string expires', 'sig1=("@method");created=1;expires="2";keyid="k"'],
    ['a token keyid', 'sig1=("@method");created=1;keyid=k'],
    ['a token alg', 'sig1=("@method");created=1;keyid="k";alg=hmac-sha256'],
    ['an integer nonce', 'sig1=("@method");created=1;keyid="k";nonce=1'],
    ['a boolean tag', 'sig1=("@method");created=1;keyid="k";tag'],
    ['a repeated parameter', 'sig1=("@method");created=1;created=2;keyid="k"'],
  ])('refuses %s as malformed', (_name, input) => {
    expect(reason(headers(input))).toBe('malformed_signature');
  });

  it('refuses a signature without a keyid, or with an empty one', () => {
    expect(reason(headers('sig1=("@method");created=1'))).toBe('missing_keyid');
    expect(reason(headers('sig1=("@method");created=1;keyid=""'))).toBe('missing_keyid');
  });

  it('leaves alg and created to verifySignature', () => {
    const result = parseSignature(headers('sig1=("@method");keyid="k";alg="ed25519"'));
    expect(result.ok && result.sig).toMatchObject({ alg: 'ed25519', created: undefined });
  });

  it('refuses fields over 8 KiB', () => {
    const long = `sig1=("@method");created=1;keyid="${'k'.repeat(8200)}"`;
    expect(reason(headers(long))).toBe('malformed_signature');
    expect(
      reason(headers('sig1=("@method");created=1;keyid="k"', `sig1=:${'A'.repeat(8200)}:`)),
    ).toBe('malformed_signature');
  });
});

// Deterministic PRNG (mulberry32) so a failing fuzz case can be reproduced.
const prng = seededRandom;

describe('parseSignature and verifySignature under malformed input', () => {
  const req: SignableRequest = {
    method: 'POST',
    targetUri: 'https://api.example.com/v1/x?a=1',
    headers: {},
    body: Buffer.from('{"q":1}'),
  };
  const valid = signRequest(req, { keyId: 'k', secret: SECRET, created: 1000, nonce: 'n' });
  const validInput = valid['signature-input'];
  const validSignature = valid.signature;

  function neverThrows(h: SignableRequest['headers']): void {
    let result: ReturnType<typeof parseSignature> | undefined;
    expect(() => {
      result = parseSignature(h);
    }).not.toThrow();
    if (result?.ok) {
      const sig = result.sig;
      expect(() =>
        verifySignature({ ...req, headers: { ...req.headers, ...h } }, sig, [SECRET], {
          now: 1000,
          maxSkewSeconds: 60,
        }),
      ).not.toThrow();
    }
  }

  it('never throws on random strings', () => {
    const random = prng(42);
    const alphabet = 'sig1=()";:,?*-_ .\\\t@abcAB09+/=é\u0000\n';
    for (let i = 0; i < 3000; i++) {
      const length = Math.floor(random() * 80);
      let s = '';
      for (let j = 0; j < length; j++) s += alphabet[Math.floor(random() * alphabet.length)];
      neverThrows(headers(s, random() < 0.5 ? validSignature : s));
    }
  });

  it('never throws on every truncation of a valid header, and accepts none of them', () => {
    for (let i = 0; i < validInput.length; i++) {
      neverThrows(headers(validInput.slice(0, i), validSignature));
    }
    for (let i = 0; i < validSignature.length; i++) {
      const h = headers(validInput, validSignature.slice(0, i));
      neverThrows(h);
      const parsed = parseSignature(h);
      if (parsed.ok) {
        expect(
          verifySignature({ ...req, headers: { ...valid, ...h } }, parsed.sig, [SECRET], {
            now: 1000,
            maxSkewSeconds: 60,
          }).ok,
        ).toBe(false);
      }
    }
  });

  it('never throws on single-character mutations of valid headers', () => {
    const random = prng(7);
    const pool = '()";:,= \\@a1-é\u0000';
    for (let i = 0; i < 2000; i++) {
      const target = random() < 0.5 ? 'input' : 'signature';
      const original = target === 'input' ? validInput : validSignature;
      const at = Math.floor(random() * original.length);
      const c = pool[Math.floor(random() * pool.length)];
      const mutated = original.slice(0, at) + c + original.slice(at + 1);
      neverThrows(
        target === 'input' ? headers(mutated, validSignature) : headers(validInput, mutated),
      );
    }
  });

  it.each([
    ['missing quotes', 'sig1=(@method @target-uri);created=1000;keyid=k'],
    ['an unclosed quote', 'sig1=("@method);created=1000;keyid="k"'],
    ['no parentheses', 'sig1="@method" "@target-uri";created=1000;keyid="k"'],
    ['no label', '("@method");created=1000;keyid="k"'],
    ['a label only', 'sig1'],
    ['an equals only', '='],
    ['commas only', ',,,'],
    ['nested lists', 'sig1=(("@method"));created=1000;keyid="k"'],
    ['a huge integer', 'sig1=("@method");created=99999999999999999999;keyid="k"'],
    ['a huge field', `sig1=(${'"x" '.repeat(100_000)})`],
  ])('refuses input with %s without throwing', (_name, input) => {
    neverThrows(headers(input, validSignature));
    expect(reason(headers(input, validSignature))).toBe('malformed_signature');
  });

  it.each([
    ['bad base64', 'sig1=:not*base64:'],
    ['unpadded base64', `sig1=:${Buffer.alloc(32, 1).toString('base64').replace(/=+$/, '')}:`],
    ['base64url', `sig1=:${Buffer.alloc(32, 251).toString('base64url')}=:`],
    ['no closing colon', 'sig1=:AAAA'],
    ['a huge byte sequence', `sig1=:${'A'.repeat(1_000_000)}:`],
  ])('refuses a signature with %s without throwing', (_name, signature) => {
    neverThrows(headers(validInput, signature));
    expect(reason(headers(validInput, signature))).toBe('malformed_signature');
  });
});
