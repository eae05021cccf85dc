import { createHmac } from 'node:crypto';
import { httpbis, type SigningKey } from 'http-message-signatures';
import { contentDigest } from '@libs/http-signatures';
import { eventually, startApp, TestApp, TestTenant } from './support/harness';
import { PrivateRedis } from './support/private-redis';
import { signedRequest, SignedCall } from './support/signed-client';

/** HTTP Message Signatures (RFC 9421, hmac-sha256) with Content-Digest (RFC 9530) on the request path. */
describe('signed requests', () => {
  let api: TestApp;
  let t: TestTenant;
  let signer: { id: string; secret: string; signingSecret: string };

  beforeAll(async () => {
    api = await startApp();
    t = await api.createTenant('sig');
    await t.collection('docs', 2);
    const r = await t.request('POST', '/keys', {
      name: 'signer',
      scopes: ['vectors:read', 'vectors:write'],
      signing: true,
      requireSignature: true,
    });
    expect(r.status).toBe(201);
    expect(r.body.signingSecret).toMatch(/^qvs_live_[0-9A-Za-z]{38}$/);
    expect(r.body.signing).toEqual({
      enabled: true,
      required: true,
      previousSecretExpiresAt: null,
    });
    signer = { id: r.body.id, secret: r.body.secret, signingSecret: r.body.signingSecret };
  });
  afterAll(() => api.close());

  const send = (call: SignedCall, s = signer, app = api) =>
    signedRequest(app, s.secret, s.id, s.signingSecret, call);
  const upsert = {
    method: 'POST',
    path: '/v1/collections/docs/vectors',
    body: { vectors: [{ id: 'a', values: [1, 2] }] },
  };
  const search = {
    method: 'POST',
    path: '/v1/collections/docs/search?x=1',
    body: { vector: [1, 2], topK: 1 },
  };
  const expectRefused = (r: { status: number; body: { code: string } }, code: string) => {
    expect(r.status).toBe(401);
    expect(r.body.code).toBe(code);
  };

  it('accepts a signed request with and without a body, and never shows the signing secret again', async () => {
    expect((await send(upsert)).status).toBe(200);
    expect((await send({ method: 'GET', path: '/v1/collections' })).status).toBe(200);
    const listed = await t.request('GET', `/keys/${signer.id}`);
    expect(JSON.stringify(listed.body)).not.toContain(signer.signingSecret);
  });

  it('refuses an unsigned request when the key requires signatures', async () => {
    const r = await api.request('GET', '/v1/collections', { token: signer.secret });
    expectRefused(r, 'signature_required');
  });

  it('refuses an unsigned request when the tenant requires signatures, for every key', async () => {
    const other = await api.createTenant('sig');
    const plain = await other.key(['vectors:read']);
    const settings = await api.admin('GET', `/tenants/${other.id}/settings`);
    await api.admin(
      'PUT',
      `/tenants/${other.id}/settings`,
      { settings: { security: { requireSignatures: true } } },
      {
        'if-match': settings.headers.get('etag')!,
      },
    );
    expectRefused(
      await api.request('GET', '/v1/collections', { token: plain.secret }),
      'signature_required',
    );
  });

  it('refuses a keyid that is not the sending key, and a key without a signing secret', async () => {
    expectRefused(
      await send(
        { method: 'GET', path: '/v1/collections', sign: {} },
        { ...signer, id: t.adminKeyId },
      ),
      'signature_unknown_key',
    );
    const unsigned = await t.key(['vectors:read']);
    const r = await signedRequest(api, unsigned.secret, unsigned.id, 'qvs_live_whatever', {
      method: 'GET',
      path: '/v1/collections',
    });
    expectRefused(r, 'signature_unknown_key');
  });

  it('refuses a signature made with the wrong secret', async () => {
    expectRefused(
      await send(upsert, { ...signer, signingSecret: `${signer.signingSecret}x` }),
      'signature_invalid',
    );
  });

  it.each([
    ['method', { method: 'DELETE', path: '/v1/collections/docs' }],
    ['path', { path: '/v1/collections/other/vectors' }],
    ['query', { path: '/v1/collections/docs/search?x=2' }],
    [
      'body and its digest',
      {
        body: '{"vector":[2,1],"topK":1}',
        headers: { 'content-digest': contentDigest(Buffer.from('{"vector":[2,1],"topK":1}')) },
      },
    ],
  ])('refuses a request whose %s changed after signing', async (what, tamper) => {
    // The method is swapped on a route that has both: GET and DELETE /v1/collections/docs.
    const call = what === 'method' ? { method: 'GET', path: '/v1/collections/docs' } : search;
    expectRefused(await send({ ...call, tamper }), 'signature_invalid');
  });

  it('refuses a body that does not match its Content-Digest (computed from the raw bytes)', async () => {
    // Same JSON value, different bytes: the digest is of what was sent, not of a re-serialisation.
    const r = await send({ ...search, tamper: { body: '{ "vector": [1, 2], "topK": 1 }' } });
    expectRefused(r, 'content_digest_mismatch');
  });

  it('refuses `created` outside the allowed skew, in the past and in the future', async () => {
    const now = Math.floor(Date.now() / 1000);
    expectRefused(await send({ ...search, sign: { created: now - 301 } }), 'signature_expired');
    expectRefused(await send({ ...search, sign: { created: now + 301 } }), 'signature_expired');
    expect((await send({ ...search, sign: { created: now - 200 } })).status).toBe(200);
  });

  it('refuses a replayed signature, on the same and on another instance behind one load balancer', async () => {
    // Two instances behind a proxy on 127.0.0.1 that forwards https://api.quiver.test: the same
    // signed request is valid on both, and the replay cache in Redis is shared.
    const lb1 = await startApp({ TRUSTED_PROXIES: '127.0.0.1/32' });
    const lb2 = await startApp({ TRUSTED_PROXIES: '127.0.0.1/32' });
    try {
      const call = { ...search, publicOrigin: 'https://api.quiver.test' };
      const first = await send(call, signer, lb1);
      expect(first.status).toBe(200);
      const replay = async (app: TestApp) => {
        const res = await fetch(`${app.baseUrl}${search.path}`, {
          method: 'POST',
          headers: first.sent,
          body: JSON.stringify(search.body),
        });
        return { status: res.status, body: (await res.json()) as { code: string } };
      };
      expectRefused(await replay(lb1), 'signature_replayed');
      expectRefused(await replay(lb2), 'signature_replayed');
      // A forwarded origin from a peer that is not a trusted proxy does not count.
      expectRefused(
        await send({ ...search, publicOrigin: 'https://api.quiver.test' }),
        'signature_invalid',
      );
    } finally {
      await lb1.close();
      await lb2.close();
    }
  });

  it('refuses a signature that leaves out a required component', async () => {
    expectRefused(
      await send({ ...search, sign: { components: ['@method', '@target-uri'] } }),
      'signature_missing_component',
    );
    expectRefused(
      await send({ ...search, sign: { components: ['@method', 'content-digest'] } }),
      'signature_missing_component',
    );
    expect(
      (
        await send({
          ...search,
          sign: { components: ['@method', '@authority', '@path', '@query', 'content-digest'] },
        })
      ).status,
    ).toBe(200);
  });

  it('refuses malformed signature headers with a 401, never a 500', async () => {
    const malformed: Array<Record<string, string>> = [
      { 'signature-input': 'sig1=("@method");created=1', signature: 'nope' },
      { signature: 'sig1=:AAAA:' },
      { 'signature-input': 'x'.repeat(10_000), signature: 'sig1=:AAAA:' },
    ];
    for (const headers of malformed) {
      const r = await api.request('GET', '/v1/collections', { token: signer.secret, headers });
      expect(r.status).toBe(401);
      expect(r.body.code).toMatch(/^signature_/);
    }
  });

  it('accepts a request signed by an independent RFC 9421 implementation (http-message-signatures)', async () => {
    const body = JSON.stringify(search.body);
    const key: SigningKey = {
      id: signer.id,
      alg: 'hmac-sha256',
      sign: (data) =>
        Promise.resolve(
          createHmac('sha256', Buffer.from(signer.signingSecret)).update(data).digest(),
        ),
    };
    const url = `${api.baseUrl}${search.path}`;
    const headers = {
      authorization: `Bearer ${signer.secret}`,
      'content-type': 'application/json',
      'content-digest': contentDigest(Buffer.from(body)),
    };
    const signed = await httpbis.signMessage(
      {
        key,
        name: 'sig1',
        fields: ['@method', '@target-uri', 'content-digest'],
        params: ['created', 'keyid', 'alg', 'nonce'],
        paramValues: { nonce: 'interop-1' },
      },
      { method: 'POST', url, headers },
    );
    const res = await fetch(url, {
      method: 'POST',
      headers: signed.headers as Record<string, string>,
      body,
    });
    expect(res.status).toBe(200);
  });

  it('rotates the signing secret with overlap: both verify during the grace period, then only the new one', async () => {
    const k = await t.request('POST', '/keys', {
      name: 'rot',
      scopes: ['vectors:read'],
      signing: true,
    });
    const old = { id: k.body.id, secret: k.body.secret, signingSecret: k.body.signingSecret };
    const rotated = await t.request('POST', `/keys/${old.id}/signing-secret`, {
      gracePeriodSeconds: 1,
    });
    expect(rotated.status).toBe(201);
    const fresh = { ...old, signingSecret: rotated.body.signingSecret };
    expect(fresh.signingSecret).not.toBe(old.signingSecret);
    const list = { method: 'GET', path: '/v1/collections' };
    expect((await send(list, old)).status).toBe(200);
    expect((await send(list, fresh)).status).toBe(200);
    await eventually(
      () => send(list, old),
      (r) => r.status === 401,
      4000,
    );
    expectRefused(await send(list, old), 'signature_invalid');
    expect((await send(list, fresh)).status).toBe(200);
  });

  it('validates the signing options: requireSignature without signing is refused', async () => {
    const r = await t.request('POST', '/keys', {
      name: 'x',
      scopes: ['vectors:read'],
      requireSignature: true,
    });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('invalid_key_restriction');
  });
});

/**
 * The replay check is made by the rate limiter, in the same Redis call as its decision and before it
 * counts the request: a replay never spends the tenant's limits, and with limits off it is still made.
 */
describe('the replay check and the rate limit', () => {
  async function signerOf(api: TestApp, slug: string, rateLimits?: Record<string, unknown>) {
    const t = await api.createTenant(slug);
    if (rateLimits) expect((await api.putSettings(t.id, { rateLimits })).status).toBe(200);
    const r = await t.request('POST', '/keys', {
      name: 's',
      scopes: ['vectors:read'],
      signing: true,
      requireSignature: true,
    });
    expect(r.status).toBe(201);
    const s = { id: r.body.id, secret: r.body.secret, signingSecret: r.body.signingSecret };
    const list = () =>
      signedRequest(api, s.secret, s.id, s.signingSecret, {
        method: 'GET',
        path: '/v1/collections',
      });
    const replay = async (sent: Record<string, string>) => {
      const res = await fetch(`${api.baseUrl}/v1/collections`, { headers: sent });
      return { status: res.status, body: (await res.json()) as { code: string } };
    };
    return { list, replay };
  }

  it('refuses a replay before counting it: the tenant loses one slot per real request', async () => {
    const api = await startApp();
    try {
      // One window each (an hour), so Remaining moves only with what is counted.
      const hour = [{ limit: 1000, window: '1h' }];
      const { list, replay } = await signerOf(api, 'sig-count', {
        tenant: hour,
        read: hour,
        search: hour,
        write: hour,
        admin: hour,
      });
      const first = await list();
      expect(first.status).toBe(200);
      const before = Number(first.headers.get('x-ratelimit-remaining'));
      expect(before).toBeGreaterThan(0);
      for (let i = 0; i < 3; i++) {
        const r = await replay(first.sent);
        expect(r.status).toBe(401);
        expect(r.body.code).toBe('signature_replayed');
      }
      const next = await list();
      expect(next.status).toBe(200);
      expect(Number(next.headers.get('x-ratelimit-remaining'))).toBe(before - 1);
    } finally {
      await api.close();
    }
  });

  it('still refuses a replay with rate limiting turned off', async () => {
    const api = await startApp({ RATE_LIMIT_ENABLED: 'false' });
    try {
      const { list, replay } = await signerOf(api, 'sig-nolimit');
      const first = await list();
      expect(first.status).toBe(200);
      expect(first.headers.get('x-ratelimit-remaining')).toBeNull();
      const again = await replay(first.sent);
      expect(again.status).toBe(401);
      expect(again.body.code).toBe('signature_replayed');
      expect((await list()).status).toBe(200);
    } finally {
      await api.close();
    }
  });
});

describe('signed requests when Redis (the replay cache) is down', () => {
  let redis: PrivateRedis | undefined;
  let api: TestApp | undefined;

  afterAll(async () => {
    await api?.close().catch(() => undefined);
    await redis?.stop();
  });

  it('fails closed with 503 instead of skipping the replay check', async () => {
    redis = await PrivateRedis.start();
    api = await startApp({
      REDIS_URL: redis.url,
      QUEUE_PREFIX: '{quiver-sig-down}',
      // The data plane would fail open on the rate limiter: what refuses here is the replay cache.
      RATE_LIMIT_REDIS_DOWN_SENSITIVE: 'open',
    });
    const t = await api.createTenant('sigdown');
    const r = await t.request('POST', '/keys', {
      name: 's',
      scopes: ['vectors:read'],
      signing: true,
    });
    const s = { id: r.body.id, secret: r.body.secret, signingSecret: r.body.signingSecret };
    expect(
      (
        await signedRequest(api, s.secret, s.id, s.signingSecret, {
          method: 'GET',
          path: '/v1/collections',
        })
      ).status,
    ).toBe(200);
    await redis.stop();
    const down = await signedRequest(api, s.secret, s.id, s.signingSecret, {
      method: 'GET',
      path: '/v1/collections',
    });
    expect(down.status).toBe(503);
    expect(down.body.code).toBe('service_unavailable');
    expect(down.body.detail).toMatch(/replay/i);
    expect(down.headers.get('retry-after')).toBe('1');
  });
});
