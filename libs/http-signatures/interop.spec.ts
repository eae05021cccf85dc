import { createHmac, timingSafeEqual } from 'node:crypto';
import { type SigningKey, type VerifyingKey, httpbis } from 'http-message-signatures';
import { contentDigest } from './content-digest';
import { parseSignature } from './parse-signature';
import { signRequest } from './sign-request';
import { signatureBase } from './signature-base';
import type { SignableRequest } from './signature-types';
import { verifySignature } from './verify-signature';

// Interop with an independent implementation: http-message-signatures 1.0.6. Its hmac-sha256
// signer and verifier are written here with node:crypto rather than taken from the library.

const SECRET = Buffer.from('interop-shared-secret-0123456789');
const KEY_ID = 'quiver-key-1';
const COMPONENT_SETS: [string, string[]][] = [
  ['@target-uri', ['@method', '@target-uri', 'content-digest']],
  ['@authority/@path/@query', ['@method', '@authority', '@path', '@query', 'content-digest']],
];

const theirSigningKey: SigningKey = {
  id: KEY_ID,
  alg: 'hmac-sha256',
  sign: (data) => Promise.resolve(createHmac('sha256', SECRET).update(data).digest()),
};

function theirVerifyingKey(secret: Buffer): VerifyingKey {
  return {
    id: KEY_ID,
    algs: ['hmac-sha256'],
    verify: (data, signature) => {
      const expected = createHmac('sha256', secret).update(data).digest();
      return Promise.resolve(
        expected.length === signature.length && timingSafeEqual(expected, signature),
      );
    },
  };
}

/** Their verifyMessage returns true, false or null, or throws: only `true` is acceptance. */
async function theyAccept(req: SignableRequest, secret = SECRET): Promise<boolean> {
  try {
    const result = await httpbis.verifyMessage(
      {
        keyLookup: (params) =>
          Promise.resolve(params.keyid === KEY_ID ? theirVerifyingKey(secret) : null),
        tolerance: 5,
      },
      { method: req.method, url: req.targetUri, headers: definedHeaders(req.headers) },
    );
    return result === true;
  } catch {
    return false;
  }
}

function definedHeaders(headers: SignableRequest['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = value;
  return out;
}

function lowerCaseNames(headers: Record<string, string | string[]>): SignableRequest['headers'] {
  return Object.fromEntries(Object.entries(headers).map(([name, v]) => [name.toLowerCase(), v]));
}

function request(): SignableRequest {
  return {
    method: 'POST',
    targetUri: 'https://api.example.com:8443/v1/collections/docs/search?limit=10&filter=a%20b',
    headers: { host: 'api.example.com:8443', 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ vector: [0.25, -1, 3], k: 10 })),
  };
}

function ourVerdict(req: SignableRequest, now: number): string {
  const parsed = parseSignature(req.headers);
  if (!parsed.ok) return parsed.reason;
  const result = verifySignature(req, parsed.sig, [SECRET], { now, maxSkewSeconds: 300 });
  return result.ok ? 'ok' : result.reason;
}

describe.each(COMPONENT_SETS)('interop with http-message-signatures, covering %s', (_n, fields) => {
  it('a request signed by signRequest verifies with their verifyMessage', async () => {
    const req = request();
    const added = signRequest(req, { keyId: KEY_ID, secret: SECRET, components: fields });
    const signed = { ...req, headers: { ...req.headers, ...added } };
    await expect(theyAccept(signed)).resolves.toBe(true);
  });

  it('their verifyMessage refuses our signature when the request is tampered with or the key is wrong', async () => {
    const req = request();
    const added = signRequest(req, { keyId: KEY_ID, secret: SECRET, components: fields });
    const signed = { ...req, headers: { ...req.headers, ...added } };
    await expect(theyAccept({ ...signed, method: 'PUT' })).resolves.toBe(false);
    await expect(
      theyAccept({ ...signed, targetUri: signed.targetUri.replace('limit=10', 'limit=11') }),
    ).resolves.toBe(false);
    await expect(theyAccept(signed, Buffer.from('wrong'))).resolves.toBe(false);
  });

  it('a request signed by their signMessage verifies with verifySignature', async () => {
    const req = request();
    const now = Math.floor(Date.now() / 1000);
    const digest = contentDigest(req.body!);
    const theirs = await httpbis.signMessage(
      {
        key: theirSigningKey,
        name: 'sig1',
        fields,
        params: ['created', 'keyid', 'alg', 'nonce', 'tag'],
        paramValues: { created: new Date(now * 1000), nonce: 'n-123', tag: 'interop' },
      },
      {
        method: req.method,
        url: req.targetUri,
        headers: { ...definedHeaders(req.headers), 'content-digest': digest },
      },
    );
    const received: SignableRequest = { ...req, headers: lowerCaseNames(theirs.headers) };
    expect(received.headers['signature-input']).toContain('alg="hmac-sha256"');
    expect(ourVerdict(received, now)).toBe('ok');

    // And our verifier still catches tampering of what they signed.
    expect(ourVerdict({ ...received, method: 'PATCH' }, now)).toBe('bad_signature');
    expect(ourVerdict({ ...received, body: Buffer.from('{}') }, now)).toBe(
      'content_digest_mismatch',
    );
  });

  it('a request signed by their signMessage with their default parameters (expires) verifies', async () => {
    const req = request();
    const now = Math.floor(Date.now() / 1000);
    const theirs = await httpbis.signMessage(
      { key: theirSigningKey, name: 'sig1', fields },
      {
        method: req.method,
        url: req.targetUri,
        headers: { ...definedHeaders(req.headers), 'content-digest': contentDigest(req.body!) },
      },
    );
    const received: SignableRequest = { ...req, headers: lowerCaseNames(theirs.headers) };
    expect(received.headers['signature-input']).toContain(';expires=');
    expect(ourVerdict(received, now)).toBe('ok');
    expect(ourVerdict(received, now + 301)).toBe('created_out_of_window');
  });

  it('both implementations build the same signature base', () => {
    const req = request();
    const withDigest = {
      ...req,
      headers: { ...req.headers, 'content-digest': contentDigest(req.body!) },
    };
    const params = `(${fields.map((f) => `"${f}"`).join(' ')});created=1;keyid="k"`;
    const theirBase = httpbis.formatSignatureBase([
      ...httpbis.createSignatureBase(
        { fields },
        { method: req.method, url: req.targetUri, headers: definedHeaders(withDigest.headers) },
      ),
      ['"@signature-params"', [params]],
    ]);
    expect(signatureBase(withDigest, fields, params)).toBe(theirBase);
  });
});

describe('RFC 9421 Appendix B.2.5, with both implementations', () => {
  const rfcSecret = Buffer.from(
    'uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==',
    'base64',
  );
  const created = 1618884473;
  const rfcRequest = (body?: Buffer): SignableRequest => ({
    method: 'POST',
    targetUri: 'https://example.com/foo?param=Value&Pet=dog',
    headers: {
      host: 'example.com',
      date: 'Tue, 20 Apr 2021 02:07:55 GMT',
      'content-type': 'application/json',
      'content-digest':
        'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
      'content-length': '18',
      'signature-input':
        'sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
      signature: 'sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:',
    },
    body,
  });
  const components = ['date', '@authority', 'content-type'];
  const params =
    '("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"';

  it('our signatureBase equals theirs and yields the published signature', () => {
    const req = rfcRequest(Buffer.from('{"hello": "world"}'));
    const ours = signatureBase(req, components, params);
    const theirs = httpbis.formatSignatureBase([
      ...httpbis.createSignatureBase(
        { fields: components },
        { method: req.method, url: req.targetUri, headers: definedHeaders(req.headers) },
      ),
      ['"@signature-params"', [params]],
    ]);
    expect(ours).toBe(theirs);
    expect(createHmac('sha256', rfcSecret).update(ours).digest('base64')).toBe(
      'pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=',
    );
  });

  it('their verifyMessage accepts the published signature (the reference point)', async () => {
    const req = rfcRequest();
    const result = await httpbis.verifyMessage(
      {
        keyLookup: () =>
          Promise.resolve({
            id: 'test-shared-secret',
            algs: ['hmac-sha256'],
            verify: (data: Buffer, signature: Buffer) =>
              Promise.resolve(
                timingSafeEqual(createHmac('sha256', rfcSecret).update(data).digest(), signature),
              ),
          }),
      },
      { method: req.method, url: req.targetUri, headers: definedHeaders(req.headers) },
    );
    expect(result).toBe(true);
  });

  it('verifySignature accepts the published signature when the policy asks only for its components', () => {
    const req = rfcRequest();
    const parsed = parseSignature(req.headers);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.sig).toMatchObject({ label: 'sig-b25', keyId: 'test-shared-secret', created });
    expect(
      verifySignature(req, parsed.sig, [rfcSecret], {
        now: created + 10,
        maxSkewSeconds: 300,
        requiredComponents: components,
      }),
    ).toEqual({ ok: true });
  });

  it('verifySignature refuses it for the request with its body, which the signature does not cover', () => {
    const req = rfcRequest(Buffer.from('{"hello": "world"}'));
    const parsed = parseSignature(req.headers);
    if (!parsed.ok) throw new Error(parsed.detail);
    expect(
      verifySignature(req, parsed.sig, [rfcSecret], {
        now: created,
        maxSkewSeconds: 300,
        requiredComponents: components,
      }),
    ).toMatchObject({ ok: false, reason: 'missing_component' });
  });
});
