import { Db } from '@app/database/db';
import { startApp, TestApp, TestTenant } from './support/harness';

/** The tests' requests come from 127.0.0.1; X-Forwarded-For only counts through a trusted proxy. */
describe('IP allowlists', () => {
  let direct: TestApp;
  let proxied: TestApp;

  beforeAll(async () => {
    direct = await startApp();
    // As if behind a reverse proxy on 127.0.0.1 (the test client's address).
    proxied = await startApp({ TRUSTED_PROXIES: '127.0.0.1/32' });
  });
  afterAll(async () => {
    await direct.close();
    await proxied.close();
  });

  async function allowTenant(t: TestTenant, allowedIps: string[]) {
    const current = await t.api.admin('GET', `/tenants/${t.id}/settings`);
    return t.api.admin(
      'PUT',
      `/tenants/${t.id}/settings`,
      { settings: { network: { allowedIps } } },
      {
        'if-match': current.headers.get('etag')!,
      },
    );
  }

  const list = (api: TestApp, key: string, xff?: string) =>
    api.request('GET', '/v1/collections', {
      token: key,
      headers: xff ? { 'x-forwarded-for': xff } : {},
    });

  it("refuses a request from outside the tenant's allowlist with 403 ip_not_allowed", async () => {
    const t = await direct.createTenant('ip');
    expect((await list(direct, t.adminKey)).status).toBe(200);
    expect((await allowTenant(t, ['10.0.0.0/8', '2001:db8::/32'])).status).toBe(200);
    const r = await list(direct, t.adminKey);
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('ip_not_allowed');
    expect(r.body.address).toBe('127.0.0.1');
  });

  it('applies a settings change at once (the cached key is dropped) and lifts it again', async () => {
    const t = await direct.createTenant('ip');
    expect((await list(direct, t.adminKey)).status).toBe(200); // cached now
    await allowTenant(t, ['192.0.2.0/24']);
    expect((await list(direct, t.adminKey)).status).toBe(403);
    await allowTenant(t, ['127.0.0.0/8']);
    expect((await list(direct, t.adminKey)).status).toBe(200);
    await allowTenant(t, []);
    expect((await list(direct, t.adminKey)).status).toBe(200);
  });

  it('ignores a spoofed X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const t = await direct.createTenant('ip');
    await allowTenant(t, ['10.0.0.0/8']);
    const r = await list(direct, t.adminKey, '10.1.2.3');
    expect(r.status).toBe(403);
    expect(r.body.address).toBe('127.0.0.1');
  });

  it('walks X-Forwarded-For right to left behind a trusted proxy, IPv4 and IPv6', async () => {
    const t = await proxied.createTenant('ip');
    await allowTenant(t, ['10.0.0.0/8', '2001:db8::/32']);
    expect((await list(proxied, t.adminKey, '10.1.2.3')).status).toBe(200);
    expect((await list(proxied, t.adminKey, '2001:db8::7')).status).toBe(200);
    expect((await list(proxied, t.adminKey, '::ffff:10.9.9.9')).status).toBe(200);
    // The client may write anything on the left; the hop the proxy saw is the right-most.
    const spoof = await list(proxied, t.adminKey, '10.1.2.3, 198.51.100.4');
    expect(spoof.status).toBe(403);
    expect(spoof.body.address).toBe('198.51.100.4');
    expect((await list(proxied, t.adminKey, '198.51.100.4')).status).toBe(403);
  });

  it("enforces a key's own allowlist on top of the tenant's", async () => {
    const t = await direct.createTenant('ip');
    const local = await t.key(['vectors:read'], { allowedIps: ['127.0.0.1'] });
    const elsewhere = await t.key(['vectors:read'], {
      allowedIps: ['192.0.2.0/24', '2001:db8::/32'],
    });
    expect((await list(direct, local.secret)).status).toBe(200);
    const r = await list(direct, elsewhere.secret);
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('ip_not_allowed');
    // The tenant's list applies to every key, including one the key's own list would allow.
    await allowTenant(t, ['192.0.2.0/24']);
    expect((await list(direct, local.secret)).status).toBe(403);
  });

  it('refuses /0 and invalid entries when the setting or the key is saved, and stores nothing', async () => {
    const t = await direct.createTenant('ip');
    for (const bad of [
      ['0.0.0.0/0'],
      ['::/0'],
      ['10.0.0.0/33'],
      ['not-an-ip'],
      ['10.0.0.1', '::ffff:0.0.0.0/96'],
    ]) {
      const r = await allowTenant(t, bad);
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('invalid_settings');
      expect(r.body.errors[0].path).toMatch(/^network\.allowedIps\.\d+$/);
      const k = await t.request('POST', '/keys', {
        name: 'k',
        scopes: ['vectors:read'],
        allowedIps: bad,
      });
      expect(k.status).toBe(400);
      expect(k.body.code).toBe('invalid_key_restriction');
    }
    const settings = await direct.admin('GET', `/tenants/${t.id}/settings`);
    expect(settings.body.settings).toEqual({});
    expect((await t.request('GET', '/keys')).body.items).toHaveLength(1);
  });

  it('records a security event for a refused address, once per minute per source', async () => {
    const t = await direct.createTenant('ip');
    await allowTenant(t, ['10.0.0.0/8']);
    for (let i = 0; i < 5; i++) expect((await list(direct, t.adminKey)).status).toBe(403);
    const events = await direct.app
      .get(Db)
      .tenant(t.id, (tx) =>
        tx.query<{ type: string; data: Record<string, unknown> }>(
          `SELECT type, data FROM outbox WHERE type = 'security.ip_denied'`,
        ),
      );
    expect(events).toHaveLength(1);
    expect(events[0].data).toMatchObject({
      address: '127.0.0.1',
      allowlist: 'tenant',
      keyId: t.adminKeyId,
    });
  });
});
