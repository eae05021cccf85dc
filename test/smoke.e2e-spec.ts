import { startApp, TestApp } from './support/harness';

describe('smoke', () => {
  let api: TestApp;
  beforeAll(async () => {
    api = await startApp();
  });
  afterAll(() => api.close());

  it('serves a create-collection, upsert, search round trip', async () => {
    const t = await api.createTenant();
    await t.collection('docs', 3);
    expect(
      await t.upsert('docs', [
        { id: 'a', values: [1, 0, 0] },
        { id: 'b', values: [0, 1, 0] },
      ]),
    ).toEqual({
      upserted: 2,
      inserted: 2,
      updated: 0,
    });
    const r = await t.request('POST', '/collections/docs/search', {
      vector: [1, 0.1, 0],
      topK: 1,
      mode: 'exact',
    });
    expect(r.status).toBe(200);
    expect(r.body.matches[0].id).toBe('a');
  });
});
