import { eventually, startApp, TestApp } from './support/harness';

/** Two api processes sharing one Postgres and one Redis, as behind a load balancer. */
describe('several api instances', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    // A long cache TTL, so only the pub/sub invalidation can explain a prompt refusal on B.
    a = await startApp({ API_KEY_CACHE_TTL_MS: '60000' });
    b = await startApp({ API_KEY_CACHE_TTL_MS: '60000' });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('a key revoked on one instance is refused by the other within moments, not after the cache TTL', async () => {
    const tenant = await a.createTenant('multi');
    const key = await tenant.key(['vectors:read']);
    const viaB = () => b.request('GET', '/v1/collections', { token: key.secret });
    expect((await viaB()).status).toBe(200); // now cached on B for up to 60 s

    const revoked = await tenant.request('DELETE', `/keys/${key.id}`);
    expect(revoked.status).toBe(200);
    expect((await a.request('GET', '/v1/collections', { token: key.secret })).status).toBe(401);
    const onB = await eventually(viaB, (r) => r.status !== 200, 2000);
    expect(onB.status).toBe(401);
    expect(onB.body.code).toBe('api_key_revoked');
  });

  it('a tenant suspended on one instance is refused by the other at once', async () => {
    const tenant = await a.createTenant('multi');
    const key = await tenant.key(['vectors:read']);
    expect((await b.request('GET', '/v1/collections', { token: key.secret })).status).toBe(200);
    expect((await a.admin('POST', `/tenants/${tenant.id}/suspend`)).status).toBe(200);
    // The database check in the request's own transaction refuses even before B's cache hears of it.
    const r = await b.request('GET', '/v1/collections', { token: key.secret });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('tenant_suspended');
  });
});
