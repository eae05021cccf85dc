import { createHash, createHmac } from 'node:crypto';
import { contentDigest } from './content-digest';
import { parseSignature } from './parse-signature';
import { type SignRequestOptions, signRequest } from './sign-request';
import { signatureBase } from './signature-base';
import type { ParsedSignature, SignableRequest } from './signature-types';
import { type VerifySignatureOptions, verifySignature } from './verify-signature';

const SECRET = Buffer.from('quiver-test-secret-current-000000');
const PREVIOUS = Buffer.from('quiver-test-secret-previous-00000');
const NOW = 1_700_000_000;
const OPTS: VerifySignatureOptions = { now: NOW, maxSkewSeconds: 300 };
const hashBase64 = (algorithm: string, body: Buffer) =>
  createHash(algorithm).update(body).digest('base64');
const AUTHORITY_PATH_QUERY = ['@method', '@authority', '@path', '@query', 'content-digest'];

function searchRequest(): SignableRequest {
  return {
    method: 'POST',
    targetUri: 'https://api.example.com/v1/collections/x/search?a=1',
    headers: {
      host: 'api.example.com',
      'content-type': 'application/json',
      'x-tenant': 't-1',
    },
    body: Buffer.from('{"vector":[0.1,0.2],"k":5}'),
  };
}

/** Signs `req` and returns it as the server would receive it, signature fields included. */
function sign(
  req: SignableRequest,
  opts: Partial<SignRequestOptions> = {},
): Omit<SignableRequest, 'headers'> & { headers: Record<string, string | undefined> } {
  const added = signRequest(req, { keyId: 'key-1', secret: SECRET, created: NOW, ...opts });
  return { ...req, headers: { ...(req.headers as Record<string, string>), ...added } };
}

/** Signs by hand (our signatureBase + HMAC), for inputs signRequest will not produce. */
function signByHand(
  req: SignableRequest,
  components: string[],
  params: string,
  secret = SECRET,
): SignableRequest {
  const base = signatureBase(req, components, params);
  const mac = createHmac('sha256', secret).update(base).digest('base64');
  return {
    ...req,
    headers: { ...req.headers, 'signature-input': `sig1=${params}`, signature: `sig1=:${mac}:` },
  };
}

function verify(
  req: SignableRequest,
  secrets: Buffer[] = [SECRET],
  opts: VerifySignatureOptions = OPTS,
): string {
  const parsed = parseSignature(req.headers);
  if (!parsed.ok) return parsed.reason;
  const result = verifySignature(req, parsed.sig, secrets, opts);
  return result.ok ? 'ok' : result.reason;
}

describe('verifySignature: round trip', () => {
  it('accepts a signed request with a body (default components)', () => {
    expect(verify(sign(searchRequest()))).toBe('ok');
  });

  it('accepts a signed request without a body', () => {
    const req = { ...searchRequest(), method: 'GET', body: undefined };
    const signed = sign(req);
    expect(signed.headers['content-digest']).toBeUndefined();
    expect(verify(signed)).toBe('ok');
    expect(verify({ ...signed, body: Buffer.alloc(0) })).toBe('ok');
  });

  it('accepts @authority, @path and @query in place of @target-uri', () => {
    expect(verify(sign(searchRequest(), { components: AUTHORITY_PATH_QUERY }))).toBe('ok');
  });

  it('accepts extra covered fields, tag, nonce and expires', () => {
    const signed = sign(searchRequest(), {
      components: ['@method', '@target-uri', 'content-digest', 'content-type', 'x-tenant'],
      expires: NOW + 60,
      nonce: 'abc',
      tag: 'quiver-api',
    });
    expect(verify(signed)).toBe('ok');
  });

  it('accepts an explicit alg="hmac-sha256"', () => {
    const req = searchRequest();
    const withDigest = {
      ...req,
      headers: { ...req.headers, 'content-digest': contentDigest(req.body!) },
    };
    const params = `("@method" "@target-uri" "content-digest");created=${NOW};keyid="key-1";alg="hmac-sha256"`;
    expect(
      verify(signByHand(withDigest, ['@method', '@target-uri', 'content-digest'], params)),
    ).toBe('ok');
  });

  it('does not detect replay: the same signed request verifies twice (the caller keeps nonces)', () => {
    const signed = sign(searchRequest());
    expect(verify(signed)).toBe('ok');
    expect(verify(signed)).toBe('ok');
  });

  it('ignores fields that are not covered', () => {
    const signed = sign(searchRequest());
    expect(
      verify({
        ...signed,
        headers: { ...signed.headers, 'x-extra': '1', 'content-type': 'text/plain' },
      }),
    ).toBe('ok');
  });
});

describe('verifySignature: tampering', () => {
  describe.each([
    ['@target-uri', undefined],
    ['@authority/@path/@query', AUTHORITY_PATH_QUERY],
  ])('covering %s', (_name, components) => {
    const signed = sign(searchRequest(), { components });
    const withUri = (targetUri: string) => ({ ...signed, targetUri });

    it('refuses another method', () => {
      expect(verify({ ...signed, method: 'PUT' })).toBe('bad_signature');
    });

    it('refuses another path', () => {
      expect(verify(withUri('https://api.example.com/v1/collections/y/search?a=1'))).toBe(
        'bad_signature',
      );
      expect(verify(withUri('https://api.example.com/v1/collections/x/../y/search?a=1'))).toBe(
        'bad_signature',
      );
    });

    it('refuses another query, a dropped query and an added one', () => {
      expect(verify(withUri('https://api.example.com/v1/collections/x/search?a=2'))).toBe(
        'bad_signature',
      );
      expect(verify(withUri('https://api.example.com/v1/collections/x/search'))).toBe(
        'bad_signature',
      );
      expect(verify(withUri('https://api.example.com/v1/collections/x/search?a=1&b=2'))).toBe(
        'bad_signature',
      );
    });

    it('refuses another authority', () => {
      expect(verify(withUri('https://evil.example.com/v1/collections/x/search?a=1'))).toBe(
        'bad_signature',
      );
      expect(verify(withUri('https://api.example.com:8443/v1/collections/x/search?a=1'))).toBe(
        'bad_signature',
      );
    });

    it('refuses a changed body whose content-digest was left alone', () => {
      expect(verify({ ...signed, body: Buffer.from('{"vector":[9,9],"k":5}') })).toBe(
        'content_digest_mismatch',
      );
      expect(verify({ ...signed, body: undefined })).toBe('content_digest_mismatch');
    });

    it('refuses a changed body whose content-digest was recomputed', () => {
      const body = Buffer.from('{"vector":[9,9],"k":5}');
      expect(
        verify({
          ...signed,
          body,
          headers: { ...signed.headers, 'content-digest': contentDigest(body) },
        }),
      ).toBe('bad_signature');
    });
  });

  it('refuses another scheme when @target-uri is covered', () => {
    const signed = sign(searchRequest());
    expect(
      verify({ ...signed, targetUri: 'http://api.example.com/v1/collections/x/search?a=1' }),
    ).toBe('bad_signature');
  });

  it('refuses edited signature parameters', () => {
    const signed = sign(searchRequest(), { nonce: 'n1' });
    const input = signed.headers['signature-input']!;
    const edit = (from: string, to: string) => {
      expect(input).toContain(from);
      return {
        ...signed,
        headers: { ...signed.headers, 'signature-input': input.replace(from, to) },
      };
    };
    expect(verify(edit(`created=${NOW}`, `created=${NOW + 1}`))).toBe('bad_signature');
    expect(verify(edit('keyid="key-1"', 'keyid="key-2"'))).toBe('bad_signature');
    expect(verify(edit('nonce="n1"', 'nonce="n2"'))).toBe('bad_signature');
    expect(verify(edit(';keyid', ';tag="x";keyid'))).toBe('bad_signature');
    expect(verify(edit(';keyid', ';expires=1700000100;keyid'))).toBe('bad_signature');
    expect(verify(edit('"@method" "@target-uri"', '"@target-uri" "@method"'))).toBe(
      'bad_signature',
    );
    expect(verify(edit(' "content-digest"', ''))).toBe('missing_component');
    expect(verify(edit('"@method" ', ''))).toBe('missing_component');
    expect(verify(edit('created=', 'created=0'))).toBe('bad_signature');
  });

  it('refuses a created moved out of the window before looking at the MAC', () => {
    const signed = sign(searchRequest());
    const input = signed.headers['signature-input']!.replace(
      `created=${NOW}`,
      `created=${NOW - 3600}`,
    );
    expect(verify({ ...signed, headers: { ...signed.headers, 'signature-input': input } })).toBe(
      'created_out_of_window',
    );
  });

  it('refuses a changed covered field and an absent one', () => {
    const signed = sign(searchRequest(), {
      components: ['@method', '@target-uri', 'content-digest', 'x-tenant'],
    });
    expect(verify({ ...signed, headers: { ...signed.headers, 'x-tenant': 't-2' } })).toBe(
      'bad_signature',
    );
    expect(verify({ ...signed, headers: { ...signed.headers, 'x-tenant': undefined } })).toBe(
      'component_absent',
    );
  });

  it('refuses a changed, truncated or empty signature', () => {
    const signed = sign(searchRequest());
    const mac = Buffer.from(signed.headers.signature!.slice('sig1=:'.length, -1), 'base64');
    const withMac = (bytes: Buffer) => ({
      ...signed,
      headers: { ...signed.headers, signature: `sig1=:${bytes.toString('base64')}:` },
    });
    const flipped = Buffer.from(mac);
    flipped[0] ^= 1;
    expect(verify(withMac(flipped))).toBe('bad_signature');
    expect(verify(withMac(mac.subarray(0, 31)))).toBe('bad_signature');
    expect(verify(withMac(Buffer.concat([mac, Buffer.from([0])])))).toBe('bad_signature');
    expect(verify(withMac(Buffer.alloc(0)))).toBe('bad_signature');
  });
});

describe('verifySignature: secrets', () => {
  it('refuses a signature made with another secret', () => {
    expect(verify(sign(searchRequest()), [Buffer.from('another-secret')])).toBe('bad_signature');
  });

  it('accepts the previous secret during rotation, in either position', () => {
    const signed = sign(searchRequest(), { secret: PREVIOUS });
    expect(verify(signed, [SECRET])).toBe('bad_signature');
    expect(verify(signed, [SECRET, PREVIOUS])).toBe('ok');
    expect(verify(signed, [PREVIOUS, SECRET])).toBe('ok');
  });

  it('refuses when there is no secret to try', () => {
    expect(verify(sign(searchRequest()), [])).toBe('bad_signature');
  });

  it('never accepts an empty secret, which anyone could use', () => {
    const req = { ...searchRequest(), body: undefined };
    const signed = signByHand(
      req,
      ['@method', '@target-uri'],
      `("@method" "@target-uri");created=${NOW};keyid="k"`,
      Buffer.alloc(0),
    );
    expect(verify(signed, [Buffer.alloc(0)])).toBe('bad_signature');
    expect(() => signRequest(req, { keyId: 'k', secret: Buffer.alloc(0) })).toThrow(RangeError);
  });
});

describe('verifySignature: time', () => {
  const at = (created: number, expires?: number) =>
    verify(sign(searchRequest(), { created, expires }));

  it('accepts created up to maxSkewSeconds either side of now', () => {
    expect(at(NOW - 300)).toBe('ok');
    expect(at(NOW + 300)).toBe('ok');
  });

  it('refuses created beyond maxSkewSeconds either side of now', () => {
    expect(at(NOW - 301)).toBe('created_out_of_window');
    expect(at(NOW + 301)).toBe('created_out_of_window');
  });

  it('refuses an expired signature and accepts one expiring now', () => {
    expect(at(NOW - 10, NOW - 1)).toBe('expired');
    expect(at(NOW - 10, NOW)).toBe('ok');
  });

  it('refuses a signature without created', () => {
    const req = { ...searchRequest(), body: undefined };
    const signed = signByHand(
      req,
      ['@method', '@target-uri'],
      '("@method" "@target-uri");keyid="k"',
    );
    expect(verify(signed)).toBe('missing_created');
  });

  it('fails closed on a NaN clock or skew', () => {
    const signed = sign(searchRequest());
    expect(verify(signed, [SECRET], { now: Number.NaN, maxSkewSeconds: 300 })).toBe(
      'created_out_of_window',
    );
    expect(verify(signed, [SECRET], { now: NOW, maxSkewSeconds: Number.NaN })).toBe(
      'created_out_of_window',
    );
  });
});

describe('verifySignature: algorithm', () => {
  const req = { ...searchRequest(), body: undefined };
  it.each(['rsa-pss-sha512', 'ed25519', 'HMAC-SHA256', 'hmac-sha512', ''])(
    'refuses alg="%s"',
    (alg) => {
      const params = `("@method" "@target-uri");created=${NOW};keyid="k";alg="${alg}"`;
      expect(verify(signByHand(req, ['@method', '@target-uri'], params))).toBe(
        'unsupported_algorithm',
      );
    },
  );
});

describe('verifySignature: required components', () => {
  const noBody = { ...searchRequest(), body: undefined };

  it.each([
    [['@target-uri']],
    [['@method']],
    [['@method', '@authority', '@path']],
    [['@method', '@path', '@query']],
    [['@method', '@scheme', '@authority', '@query']],
  ])('refuses %j by default', (components) => {
    expect(verify(sign(noBody, { components }))).toBe('missing_component');
  });

  it('requires exactly what the caller asks for', () => {
    const signed = sign(noBody, { components: ['@method', '@target-uri'] });
    expect(verify(signed, [SECRET], { ...OPTS, requiredComponents: ['@method', 'x-tenant'] })).toBe(
      'missing_component',
    );
    const both = sign(noBody, { components: ['@method', 'x-tenant'] });
    expect(verify(both, [SECRET], { ...OPTS, requiredComponents: ['@method', 'x-tenant'] })).toBe(
      'ok',
    );
  });

  it('requires content-digest for a body whatever the caller asks for', () => {
    const signed = sign(searchRequest(), { components: ['@method', '@target-uri'] });
    expect(signed.headers['content-digest']).toBeUndefined();
    expect(verify(signed)).toBe('missing_component');
    expect(verify(signed, [SECRET], { ...OPTS, requiredComponents: [] })).toBe('missing_component');
  });

  it('refuses a hand-built signature with unsupported components instead of throwing', () => {
    const sig: ParsedSignature = {
      label: 'sig1',
      keyId: 'k',
      alg: undefined,
      created: NOW,
      components: ['@method', '@target-uri', '@request-target'],
      signatureParams: '()',
      signature: Buffer.alloc(32),
    };
    expect(verifySignature(noBody, sig, [SECRET], OPTS)).toMatchObject({
      ok: false,
      reason: 'malformed_signature',
    });
    expect(verifySignature(noBody, { ...sig, keyId: '' }, [SECRET], OPTS)).toMatchObject({
      reason: 'missing_keyid',
    });
  });

  it('refuses a covered URI component when the target URI cannot be used', () => {
    const signed = sign(noBody);
    expect(verify({ ...signed, targetUri: 'https://api.example.com/v1/x#frag' })).toBe(
      'component_absent',
    );
  });
});

describe('verifySignature: content digest', () => {
  const components = ['@method', '@target-uri', 'content-digest'];
  const params = `("@method" "@target-uri" "content-digest");created=${NOW};keyid="k"`;
  const withDigest = (digest: string | undefined): SignableRequest => {
    const req = searchRequest();
    return { ...req, headers: { ...req.headers, 'content-digest': digest } };
  };

  it('refuses a covered content-digest that is not in the request', () => {
    const signed = sign(searchRequest());
    expect(verify({ ...signed, headers: { ...signed.headers, 'content-digest': undefined } })).toBe(
      'missing_content_digest',
    );
  });

  it('accepts sha-512, alone or with sha-256', () => {
    const body = searchRequest().body!;
    const sha512 = `sha-512=:${hashBase64('sha512', body)}:`;
    expect(verify(signByHand(withDigest(sha512), components, params))).toBe('ok');
    expect(
      verify(signByHand(withDigest(`${contentDigest(body)}, ${sha512}`), components, params)),
    ).toBe('ok');
  });

  it('refuses a signed content-digest with only unsupported algorithms', () => {
    const md5 = `md5=:${hashBase64('md5', searchRequest().body!)}:`;
    expect(verify(signByHand(withDigest(md5), components, params))).toBe('unsupported_digest');
  });

  it('refuses a signed content-digest that does not parse', () => {
    expect(verify(signByHand(withDigest('sha-256=abc'), components, params))).toBe(
      'content_digest_mismatch',
    );
  });

  it('checks a covered content-digest even without a body', () => {
    const req = { ...withDigest(contentDigest(Buffer.from('x'))), body: undefined };
    expect(verify(signByHand(req, components, params))).toBe('content_digest_mismatch');
    const empty = { ...withDigest(contentDigest(Buffer.alloc(0))), body: undefined };
    expect(verify(signByHand(empty, components, params))).toBe('ok');
  });
});
