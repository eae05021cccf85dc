import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { startApp, TestApp } from './support/harness';

describe('OpenAPI document', () => {
  let api: TestApp;
  beforeAll(async () => {
    api = await startApp();
  });
  afterAll(() => api.close());

  it('matches the committed openapi.json (run `npm run openapi` after changing the API)', async () => {
    const served = await api.request('GET', '/openapi.json');
    expect(served.status).toBe(200);
    const committed: unknown = JSON.parse(
      readFileSync(path.resolve(__dirname, '..', 'openapi.json'), 'utf8'),
    );
    expect(served.body).toEqual(committed);
  });
});
