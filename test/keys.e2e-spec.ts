import { createHash } from 'node:crypto';
import type { Client } from 'pg';
import { generateSecret, parseSecret } from '@libs/api-key';
import { Db } from '@app/database/db';
import { KeysService } from '@app/keys/keys.service';
import { ownerClient, startApp, TestApp, TestTenant } from './support/harness';
import { asTenantOwner, expectProblem, outboxEvents, sleep } from './support/keys-helpers';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

// jest reads testTimeout only from the root config, not from a project: set it here.
jest.setTimeout(30_000);

describe('API keys', () => {
  let api: TestApp;
  let owner: Client;

  beforeAll(async () => {
    api = await startApp();
    owner = await ownerClient();
  });
  afterAll(async () => {
    await owner?.end();
    await api?.close();
  });
  afterEach(() => jest.restoreAllMocks());

  /** A cheap authenticated data-plane call: list collections. */
  const listCollections = (secret: string, headers?: Record<string, string>) =>
    api.request('GET', '/v1/collections', headers ? { headers } : { token: secret });

  describe('issuing', () => {
    it('returns the secret once at creation, as qvr_live_ plus 38 characters (47 in all)', async () => {
      const t = await api.createTenant('keys');
      const expiresAt = new Date(Date.now() + 24 * 3600_000).toISOString();
      const r = await t.request('POST', '/keys', {
        name: 'search-service',
        scopes: ['vectors:read', 'vectors:write'],
        expiresAt,
      });
      expect(r.status).toBe(201);
      const secret: string = r.body.secret;
      expect(secret).toMatch(/^qvr_live_[0-9A-Za-z]{38}$/);
      expect(secret).toHaveLength(47);
      expect(parseSecret(secret, 'qvr')).toEqual({ ok: true, prefix: 'qvr', env: 'live' });
      expect(r.body).toEqual(
        expect.objectContaining({
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          name: 'search-service',
          scopes: ['vectors:read', 'vectors:write'],
          status: 'active',
          last4: secret.slice(-4),
          expiresAt,
          revokedAt: null,
          lastUsedAt: null,
        }),
      );
      // The secret authenticates.
      expect((await listCollections(secret)).status).toBe(200);
      // A key without expiresAt does not expire.
      const forever = await t.request('POST', '/keys', {
        name: 'forever',
        scopes: ['vectors:read'],
      });
      expect(forever.status).toBe(201);
      expect(forever.body.expiresAt).toBeNull();
    });

    it('never returns the secret or any hash of it from GET or list', async () => {
      const t = await api.createTenant('keys');
      const k = await t.key(['vectors:read']);
      const hash = sha256(k.secret);
      const forbidden = [
        k.secret,
        k.secret.slice(9, 41),
        hash.toString('hex'),
        hash.toString('base64'),
      ];

      const one = await t.request('GET', `/keys/${k.id}`);
      const list = await t.request('GET', '/keys');
      expect(one.status).toBe(200);
      expect(list.status).toBe(200);
      const listed = list.body.items.find((i: { id: string }) => i.id === k.id);
      expect(listed).toBeDefined();
      for (const view of [one.body, listed, ...list.body.items]) {
        expect(view).not.toHaveProperty('secret');
        expect(Object.keys(view).filter((f) => /hash/i.test(f))).toEqual([]);
      }
      for (const text of [JSON.stringify(one.body), JSON.stringify(list.body)]) {
        for (const f of forbidden) expect(text).not.toContain(f);
      }
    });

    it('stores only the SHA-256 of the secret, and the secret itself in no column', async () => {
      const t = await api.createTenant('keys');
      const k = await t.key(['vectors:read']);
      const rows = await asTenantOwner(owner, t.id, `SELECT * FROM api_keys WHERE id = $1`, [k.id]);
      expect(rows).toHaveLength(1);
      const row = rows[0];
      expect(Buffer.isBuffer(row.secret_hash)).toBe(true);
      expect((row.secret_hash as Buffer).equals(sha256(k.secret))).toBe(true);
      const randomPart = k.secret.slice(9, 41);
      for (const [column, value] of Object.entries(row)) {
        const asText = Buffer.isBuffer(value)
          ? value.toString('latin1')
          : typeof value === 'string'
            ? value
            : JSON.stringify(value);
        expect({ column, leaksSecret: asText?.includes(k.secret) ?? false }).toEqual({
          column,
          leaksSecret: false,
        });
        expect({ column, leaksRandom: asText?.includes(randomPart) ?? false }).toEqual({
          column,
          leaksRandom: false,
        });
      }
    });

    it('shows lastUsedAt in the list once usage has been flushed', async () => {
      const t = await api.createTenant('keys');
      const used = await t.key(['vectors:read']);
      const unused = await t.key(['vectors:read']);
      const before = Date.now();
      expect((await listCollections(used.secret)).status).toBe(200);
      await api.app.get(KeysService).flushLastUsed();

      const list = await t.request('GET', '/keys');
      expect(list.status).toBe(200);
      const byId = new Map<string, any>(list.body.items.map((i: { id: string }) => [i.id, i]));
      const lastUsed = byId.get(used.id)?.lastUsedAt;
      expect(lastUsed).toEqual(expect.any(String));
      expect(Date.parse(lastUsed)).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(lastUsed)).toBeLessThanOrEqual(Date.now() + 1000);
      expect(byId.get(unused.id)?.lastUsedAt).toBeNull();
    });

    it('flushes the usage of many tenants at once, each tenant touching only its own keys', async () => {
      const tenants = await Promise.all([1, 2, 3].map(() => api.createTenant('keys')));
      const keys = await Promise.all(tenants.map((t) => t.key(['vectors:read'])));
      for (const k of keys) expect((await listCollections(k.secret)).status).toBe(200);
      await api.app.get(KeysService).flushLastUsed();
      for (let i = 0; i < tenants.length; i++) {
        const got = (await tenants[i].request('GET', `/keys/${keys[i].id}`)).body;
        expect(got.lastUsedAt).toEqual(expect.any(String));
      }
      // Row-level security holds inside the batch: an UPDATE run under tenant 0 cannot reach a key
      // of tenant 1, even named by id.
      const other = await tenants[1].key(['vectors:read']);
      await api.app.get(Db).perTenant([
        {
          tenantId: tenants[0].id,
          sql: `UPDATE api_keys SET last_used_at = now() WHERE id = '${other.id}'`,
        },
      ]);
      expect((await tenants[1].request('GET', `/keys/${other.id}`)).body.lastUsedAt).toBeNull();
    });

    it('refuses an expiresAt in the past with 400 validation_failed', async () => {
      const t = await api.createTenant('keys');
      for (const expiresAt of [
        new Date(Date.now() - 60_000).toISOString(),
        '2001-01-01T00:00:00Z',
      ]) {
        const r = await t.request('POST', '/keys', {
          name: 'old',
          scopes: ['vectors:read'],
          expiresAt,
        });
        expectProblem(r, 400, 'validation_failed');
      }
      const list = await t.request('GET', '/keys');
      expect(list.body.items.map((i: { id: string }) => i.id)).toEqual([t.adminKeyId]);
    });

    it.each([
      ['an unknown scope', ['vectors:read', 'vectors:admin']],
      ['a wildcard scope', ['vectors:*']],
      ['empty scopes', []],
      ['duplicate scopes', ['vectors:read', 'vectors:read']],
      ['scopes that are not a list', 'vectors:read'],
    ])('refuses %s with 400 validation_failed problem+json', async (_label, scopes) => {
      const t = await api.createTenant('keys');
      const r = await t.request('POST', '/keys', { name: 'bad', scopes });
      expectProblem(r, 400, 'validation_failed');
      expect(r.body.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: 'scopes' })]),
      );
      const list = await t.request('GET', '/keys');
      expect(list.body.items).toHaveLength(1);
    });
  });

  describe('presenting a key', () => {
    let t: TestTenant;
    let a: { id: string; secret: string };
    let b: { id: string; secret: string };
    beforeAll(async () => {
      t = await api.createTenant('keys');
      a = await t.key(['vectors:read']);
      b = await t.key(['vectors:read']);
    });

    it('accepts the key as Authorization: Bearer', async () => {
      expect((await listCollections(a.secret)).status).toBe(200);
    });

    it('accepts the key as X-API-Key', async () => {
      expect((await listCollections(a.secret, { 'x-api-key': a.secret })).status).toBe(200);
    });

    it('accepts both headers when they carry the same key', async () => {
      const r = await listCollections(a.secret, {
        authorization: `Bearer ${a.secret}`,
        'x-api-key': a.secret,
      });
      expect(r.status).toBe(200);
    });

    it('refuses both headers carrying different (each valid) keys with 401', async () => {
      const r = await listCollections(a.secret, {
        authorization: `Bearer ${a.secret}`,
        'x-api-key': b.secret,
      });
      expectProblem(r, 401, 'unauthenticated');
    });
  });

  describe('revocation, expiry and rotation', () => {
    it('refuses a revoked key with 401 api_key_revoked as soon as revoke returns, though it was cached', async () => {
      const t = await api.createTenant('keys');
      const k = await t.key(['vectors:read']);
      const lookup = jest.spyOn(api.app.get(Db), 'keyLookup');
      expect((await listCollections(k.secret)).status).toBe(200);
      expect((await listCollections(k.secret)).status).toBe(200);
      // The second use was served from the cache: the revoke below must beat a cached "valid".
      expect(lookup).toHaveBeenCalledTimes(1);

      const revoked = await t.request('DELETE', `/keys/${k.id}`);
      expect(revoked.status).toBe(200);
      expect(revoked.body).toEqual(
        expect.objectContaining({ id: k.id, status: 'revoked', revokedAt: expect.any(String) }),
      );
      expectProblem(await listCollections(k.secret), 401, 'api_key_revoked');
      expectProblem(
        await listCollections(k.secret, { 'x-api-key': k.secret }),
        401,
        'api_key_revoked',
      );

      expect((await t.request('GET', `/keys/${k.id}`)).body.status).toBe('revoked');
      expectProblem(await t.request('DELETE', `/keys/${k.id}`), 409, 'api_key_already_revoked');
    });

    it('revoking a rotated key refuses both its new secret and the one still in its grace period', async () => {
      const t = await api.createTenant('keys');
      const k = await t.key(['vectors:read']);
      const rotated = await t.request('POST', `/keys/${k.id}/rotate`, { gracePeriodSeconds: 3600 });
      expect(rotated.status).toBe(201);
      expect((await listCollections(k.secret)).status).toBe(200);
      expect((await listCollections(rotated.body.secret)).status).toBe(200);
      expect((await t.request('DELETE', `/keys/${k.id}`)).status).toBe(200);
      expectProblem(await listCollections(k.secret), 401, 'api_key_revoked');
      expectProblem(await listCollections(rotated.body.secret), 401, 'api_key_revoked');
    });

    it('refuses a key once its expiresAt has passed with 401 api_key_expired', async () => {
      const t = await api.createTenant('keys');
      const expiresAt = new Date(Date.now() + 1500);
      const k = await t.key(['vectors:read'], { expiresAt: expiresAt.toISOString() });
      expect((await listCollections(k.secret)).status).toBe(200);
      await sleep(expiresAt.getTime() - Date.now() + 200);
      expectProblem(await listCollections(k.secret), 401, 'api_key_expired');
      expect((await t.request('GET', `/keys/${k.id}`)).body.status).toBe('expired');
    });

    it('rotation: the new secret works and the old one keeps working during the grace period', async () => {
      const t = await api.createTenant('keys');
      const k = await t.key(['vectors:read']);
      expect((await listCollections(k.secret)).status).toBe(200);

      const r = await t.request('POST', `/keys/${k.id}/rotate`, {});
      expect(r.status).toBe(201);
      const fresh: string = r.body.secret;
      expect(parseSecret(fresh, 'qvr').ok).toBe(true);
      expect(fresh).not.toBe(k.secret);
      expect(r.body).toEqual(
        expect.objectContaining({
          id: k.id,
          last4: fresh.slice(-4),
          rotatedAt: expect.any(String),
        }),
      );
      // Default grace: an hour.
      const graceEnd = Date.parse(r.body.previousSecretExpiresAt);
      expect(Math.abs(graceEnd - (Date.now() + 3600_000))).toBeLessThan(60_000);

      expect((await listCollections(fresh)).status).toBe(200);
      expect((await listCollections(k.secret)).status).toBe(200);
      // The new secret, not the old, is what the database holds as current.
      const [row] = await asTenantOwner(owner, t.id, `SELECT * FROM api_keys WHERE id = $1`, [
        k.id,
      ]);
      expect((row.secret_hash as Buffer).equals(sha256(fresh))).toBe(true);
      expect((row.previous_secret_hash as Buffer).equals(sha256(k.secret))).toBe(true);
    });

    it('refuses the old secret with 401 once a short grace period has ended', async () => {
      const t = await api.createTenant('keys');
      const k = await t.key(['vectors:read']);
      expect((await listCollections(k.secret)).status).toBe(200);
      const r = await t.request('POST', `/keys/${k.id}/rotate`, { gracePeriodSeconds: 1 });
      expect(r.status).toBe(201);
      expect((await listCollections(k.secret)).status).toBe(200);
      await sleep(1300);
      expectProblem(await listCollections(k.secret), 401, 'api_key_expired');
      expect((await listCollections(r.body.secret)).status).toBe(200);
    });

    it('gracePeriodSeconds 0 ends the old secret at once, even when it was just cached', async () => {
      const t = await api.createTenant('keys');
      const k = await t.key(['vectors:read']);
      expect((await listCollections(k.secret)).status).toBe(200);
      const r = await t.request('POST', `/keys/${k.id}/rotate`, { gracePeriodSeconds: 0 });
      expect(r.status).toBe(201);
      expect(r.body.previousSecretExpiresAt).toBeNull();
      const old = await listCollections(k.secret);
      expect(old.status).toBe(401);
      expect(['invalid_api_key', 'api_key_expired']).toContain(old.body.code);
      expect((await listCollections(r.body.secret)).status).toBe(200);
    });

    it("rotating again ends the previous secret's grace early", async () => {
      const t = await api.createTenant('keys');
      const k = await t.key(['vectors:read']);
      const first = await t.request('POST', `/keys/${k.id}/rotate`, { gracePeriodSeconds: 3600 });
      expect((await listCollections(k.secret)).status).toBe(200);
      const second = await t.request('POST', `/keys/${k.id}/rotate`, { gracePeriodSeconds: 3600 });
      expect(second.status).toBe(201);
      expect((await listCollections(k.secret)).status).toBe(401);
      expect((await listCollections(first.body.secret)).status).toBe(200);
      expect((await listCollections(second.body.secret)).status).toBe(200);
    });

    it('refuses gracePeriodSeconds that are negative, fractional or over 30 days with 400', async () => {
      const t = await api.createTenant('keys');
      const k = await t.key(['vectors:read']);
      for (const gracePeriodSeconds of [-1, 1.5, 30 * 24 * 3600 + 1, '60']) {
        const r = await t.request('POST', `/keys/${k.id}/rotate`, { gracePeriodSeconds });
        expectProblem(r, 400, 'validation_failed');
      }
      expect((await listCollections(k.secret)).status).toBe(200);
    });

    it('refuses to rotate a revoked key with 409, and the key stays dead', async () => {
      const t = await api.createTenant('keys');
      const k = await t.key(['vectors:read']);
      expect((await t.request('DELETE', `/keys/${k.id}`)).status).toBe(200);
      const r = await t.request('POST', `/keys/${k.id}/rotate`, { gracePeriodSeconds: 60 });
      // The caller's own credential is fine: a 401 would tell the client to re-authenticate.
      expect(r.status).toBe(409);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(r.body.code).toMatch(/revoked/);
      expect(r.body.secret).toBeUndefined();
      expectProblem(await listCollections(k.secret), 401, 'api_key_revoked');
      const [row] = await asTenantOwner(owner, t.id, `SELECT * FROM api_keys WHERE id = $1`, [
        k.id,
      ]);
      expect((row.secret_hash as Buffer).equals(sha256(k.secret))).toBe(true);
    });
  });

  describe('scopes', () => {
    let t: TestTenant;
    beforeAll(async () => {
      t = await api.createTenant('keys');
      await t.collection('docs', 3);
      await t.upsert('docs', [{ id: 'a', values: [1, 0, 0] }]);
    });

    it('a vectors:read key can search but not upsert, delete vectors or create a collection (403 insufficient_scope)', async () => {
      const k = await t.key(['vectors:read']);
      const search = await t.request(
        'POST',
        '/collections/docs/search',
        { vector: [1, 0, 0], topK: 1, mode: 'exact' },
        k.secret,
      );
      expect(search.status).toBe(200);

      const upsert = await t.request(
        'POST',
        '/collections/docs/vectors',
        { vectors: [{ id: 'b', values: [0, 1, 0] }] },
        k.secret,
      );
      expectProblem(upsert, 403, 'insufficient_scope');
      const del = await t.request(
        'POST',
        '/collections/docs/vectors/delete',
        { ids: ['a'] },
        k.secret,
      );
      expectProblem(del, 403, 'insufficient_scope');
      const create = await t.request(
        'POST',
        '/collections',
        { name: 'other', dimension: 3 },
        k.secret,
      );
      expectProblem(create, 403, 'insufficient_scope');
      const drop = await t.request('DELETE', '/collections/docs', undefined, k.secret);
      expectProblem(drop, 403, 'insufficient_scope');

      const count = await t.request('POST', '/collections/docs/vectors/count', {});
      expect(count.body.count).toBe(1);
      expect((await t.request('GET', '/collections/other')).status).toBe(404);
    });

    it('a vectors:write key can upsert but not search (403 insufficient_scope)', async () => {
      const k = await t.key(['vectors:write']);
      const upsert = await t.request(
        'POST',
        '/collections/docs/vectors',
        { vectors: [{ id: 'w', values: [0, 0, 1] }] },
        k.secret,
      );
      expect(upsert.status).toBe(200);
      const search = await t.request(
        'POST',
        '/collections/docs/search',
        { vector: [1, 0, 0], topK: 1, mode: 'exact' },
        k.secret,
      );
      expectProblem(search, 403, 'insufficient_scope');
      expect(search.body.requiredScopes).toEqual(['vectors:read']);
    });

    it('a key without tenant:admin cannot list, create, read, revoke or rotate keys (403)', async () => {
      const k = await t.key(['vectors:read', 'vectors:write', 'collections:admin']);
      const before = await t.request('GET', '/keys');
      const calls: Array<[string, string, unknown?]> = [
        ['GET', '/keys'],
        ['POST', '/keys', { name: 'escalate', scopes: ['tenant:admin'] }],
        ['GET', `/keys/${t.adminKeyId}`],
        ['DELETE', `/keys/${t.adminKeyId}`],
        ['POST', `/keys/${t.adminKeyId}/rotate`, { gracePeriodSeconds: 0 }],
      ];
      for (const [method, path, body] of calls) {
        expectProblem(await t.request(method, path, body, k.secret), 403, 'insufficient_scope');
      }
      // Nothing happened: the admin key still works and no key was added.
      const list = await t.request('GET', '/keys');
      expect(list.status).toBe(200);
      // lastUsedAt may move (a background flush); what a key-management call would change may not.
      const state = (items: any[]) =>
        items.map(({ id, status, last4, revokedAt, rotatedAt }) => ({
          id,
          status,
          last4,
          revokedAt,
          rotatedAt,
        }));
      expect(state(list.body.items)).toEqual(state(before.body.items));
      expect(list.body.items.every((i: { status: string }) => i.status === 'active')).toBe(true);
    });
  });

  describe('malformed keys', () => {
    const valid = generateSecret('qvr', 'live').secret;
    const flipOne = (s: string, i: number) =>
      s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const utf8AsHeader = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

    // [label, header name, raw header value, expected code]
    const cases: Array<[string, string, string, string]> = [
      [
        'a wrong prefix (a platform token)',
        'authorization',
        `Bearer ${generateSecret('qvp', 'live').secret}`,
        'invalid_api_key',
      ],
      ['a wrong prefix (qvx_)', 'x-api-key', `qvx${valid.slice(3)}`, 'invalid_api_key'],
      ['a truncated key', 'authorization', `Bearer ${valid.slice(0, -1)}`, 'invalid_api_key'],
      [
        'one character flipped (bad checksum)',
        'authorization',
        `Bearer ${flipOne(valid, 20)}`,
        'invalid_api_key',
      ],
      ['a flipped checksum character', 'x-api-key', flipOne(valid, 44), 'invalid_api_key'],
      ['extra characters', 'authorization', `Bearer ${valid}x`, 'invalid_api_key'],
      ['an empty bearer token', 'authorization', 'Bearer ', 'unauthenticated'],
      ['an empty X-API-Key', 'x-api-key', '', 'unauthenticated'],
      [
        'a 10 KB bearer token',
        'authorization',
        `Bearer ${'a'.repeat(10 * 1024)}`,
        'unauthenticated',
      ],
      ['a 10 KB X-API-Key', 'x-api-key', `qvr_live_${'A'.repeat(10 * 1024)}`, 'unauthenticated'],
      [
        'a latin-1 character in place of one',
        'x-api-key',
        `${valid.slice(0, 20)}\u00e9${valid.slice(21)}`,
        'invalid_api_key',
      ],
      [
        'unicode (UTF-8 bytes) in the key',
        'authorization',
        `Bearer ${utf8AsHeader(`${valid.slice(0, 45)}🔑`)}`,
        'invalid_api_key',
      ],
      [
        'a key of unicode letters only',
        'x-api-key',
        utf8AsHeader('ключ'.repeat(6)),
        'invalid_api_key',
      ],
    ];

    it.each(cases)(
      'refuses %s with 401 and no database lookup',
      async (_label, header, value, code) => {
        const lookup = jest.spyOn(api.app.get(Db), 'keyLookup');
        const r = await api.request('GET', '/v1/collections', { headers: { [header]: value } });
        expectProblem(r, 401, code);
        expect(lookup).not.toHaveBeenCalled();
      },
    );

    it('looks up a well-formed unknown key in the database and refuses it with 401 invalid_api_key', async () => {
      const lookup = jest.spyOn(api.app.get(Db), 'keyLookup');
      const unknown = generateSecret('qvr', 'live').secret;
      expectProblem(await listCollections(unknown), 401, 'invalid_api_key');
      expect(lookup).toHaveBeenCalledTimes(1);
      expect(lookup.mock.calls[0][0]).toBe(sha256(unknown).toString('hex'));
    });
  });

  describe('tenant isolation', () => {
    it("a tenant admin cannot see, revoke or rotate another tenant's keys (404)", async () => {
      const a = await api.createTenant('keys-a');
      const b = await api.createTenant('keys-b');
      const bKey = await b.key(['vectors:read']);

      expectProblem(await a.request('GET', `/keys/${bKey.id}`), 404, 'api_key_not_found');
      expectProblem(await a.request('DELETE', `/keys/${bKey.id}`), 404, 'api_key_not_found');
      expectProblem(
        await a.request('POST', `/keys/${bKey.id}/rotate`, { gracePeriodSeconds: 0 }),
        404,
        'api_key_not_found',
      );
      expectProblem(await a.request('GET', `/keys/${b.adminKeyId}`), 404, 'api_key_not_found');
      const aList = await a.request('GET', '/keys');
      expect(aList.body.items.map((i: { id: string }) => i.id)).toEqual([a.adminKeyId]);

      // B's key is untouched: same secret, still active, not rotated.
      expect((await listCollections(bKey.secret)).status).toBe(200);
      const bView = await b.request('GET', `/keys/${bKey.id}`);
      expect(bView.body).toEqual(
        expect.objectContaining({ status: 'active', revokedAt: null, rotatedAt: null }),
      );
      const bChanges = (await outboxEvents(owner, b.id)).filter(
        (e) => e.type === 'api_key.revoked' || e.type === 'api_key.rotated',
      );
      expect(bChanges).toEqual([]);
    });
  });

  describe('outbox', () => {
    it('writes api_key.created, api_key.rotated and api_key.revoked events that hold no secret or hash', async () => {
      const t = await api.createTenant('keys');
      const created = await t.request('POST', '/keys', {
        name: 'evented',
        scopes: ['vectors:read'],
      });
      expect(created.status).toBe(201);
      const id: string = created.body.id;
      const rotated = await t.request('POST', `/keys/${id}/rotate`, { gracePeriodSeconds: 60 });
      expect(rotated.status).toBe(201);
      expect((await t.request('DELETE', `/keys/${id}`)).status).toBe(200);

      const events = (await outboxEvents(owner, t.id)).filter((e) => e.data.keyId === id);
      expect(events.map((e) => e.type)).toEqual([
        'api_key.created',
        'api_key.rotated',
        'api_key.revoked',
      ]);
      expect(events[0].data).toEqual(
        expect.objectContaining({ keyId: id, name: 'evented', scopes: ['vectors:read'] }),
      );
      expect(events[1].data).toEqual(
        expect.objectContaining({ keyId: id, gracePeriodSeconds: 60 }),
      );

      const secrets = [created.body.secret as string, rotated.body.secret as string];
      const forbidden = secrets.flatMap((s) => [
        s,
        s.slice(9, 41),
        sha256(s).toString('hex'),
        sha256(s).toString('base64'),
      ]);
      for (const e of events) {
        const text = JSON.stringify(e.data);
        for (const f of forbidden) expect(text).not.toContain(f);
        expect(Object.keys(e.data).filter((k) => /secret|hash/i.test(k))).toEqual([]);
      }
      // The tenant's first admin key, issued through the platform API, has its event too.
      const all = await outboxEvents(owner, t.id);
      expect(all.filter((e) => e.type === 'api_key.created').map((e) => e.data.keyId)).toEqual([
        t.adminKeyId,
        id,
      ]);
    });
  });
});
