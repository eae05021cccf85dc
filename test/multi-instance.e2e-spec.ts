import { Db } from '@app/database/db';
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

  it('a collection deleted and re-created on one instance is searched afresh on the other', async () => {
    const tenant = await a.createTenant('multi');
    await tenant.collection('docs', 3);
    await tenant.upsert('docs', [{ id: 'old', values: [1, 0, 0] }]);
    const viaB = (vector: number[]) =>
      b.request('POST', '/v1/collections/docs/search', {
        token: tenant.adminKey,
        body: { vector, topK: 5 },
      });
    // Twice: the second search on B uses what B remembered of the collection, in one message.
    const dbB = b.app.get(Db);
    for (let i = 0; i < 2; i++) {
      const general = jest.spyOn(dbB, 'tenant');
      const oneMessage = jest.spyOn(dbB, 'tenantReadWith');
      const r = await viaB([1, 0, 0]);
      expect(r.status).toBe(200);
      expect(r.body.matches.map((m: { id: string }) => m.id)).toEqual(['old']);
      expect(general).not.toHaveBeenCalled();
      // The first search looks the collection up (one message), then searches (one message).
      expect(oneMessage).toHaveBeenCalledTimes(i === 0 ? 2 : 1);
      general.mockRestore();
      oneMessage.mockRestore();
    }
    expect((await tenant.request('DELETE', '/collections/docs')).status).toBe(204);
    await tenant.collection('docs', 4);
    await tenant.upsert('docs', [{ id: 'new', values: [0, 1, 0, 0] }]);
    const r = await viaB([0, 1, 0, 0]);
    expect(r.status).toBe(200);
    expect(r.body.matches.map((m: { id: string }) => m.id)).toEqual(['new']);
    expect((await viaB([1, 0, 0])).body.code).toBe('dimension_mismatch');
    // Gone for good: B says so too.
    expect((await tenant.request('DELETE', '/collections/docs')).status).toBe(204);
    expect((await viaB([0, 1, 0, 0])).body.code).toBe('collection_not_found');
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
