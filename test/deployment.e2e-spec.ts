import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { envSchema } from '@app/config/config.schema';

const root = path.resolve(__dirname, '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string>;
  user?: string;
}

/** What a user deploys from: docker-compose.yml, the Dockerfile and the documented settings. */
describe('deployment files', () => {
  it('docker-compose.yml parses and runs db, redis, api and worker from one image', () => {
    const compose = parse(read('docker-compose.yml'), { merge: true }) as {
      services: Record<string, ComposeService>;
    };
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'db', 'redis', 'worker']);
    const { api, worker, db } = compose.services;
    expect(db.image).toMatch(/pgvector/);
    expect(api.image).toBeDefined();
    expect(worker.image).toBe(api.image);
    expect(String(worker.command)).toContain('dist/src/worker.js');
    expect(api.environment?.MIGRATIONS_RUN).toBe('true');
    expect(api.environment?.DATABASE_URL).toMatch(/^postgres:\/\/quiver_app:/);
    expect(api.environment?.DATABASE_OWNER_URL).toMatch(/^postgres:\/\/quiver_owner:/);
  });

  it('the Dockerfile is multi-stage and runs as a non-root user', () => {
    const dockerfile = read('Dockerfile');
    expect((dockerfile.match(/^FROM /gm) ?? []).length).toBeGreaterThanOrEqual(2);
    const users = dockerfile.match(/^USER (\S+)/gm) ?? [];
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1]).not.toMatch(/root|\b0\b/);
  });

  it('.env.example documents every setting the app reads', () => {
    const example = read('.env.example');
    for (const name of Object.keys(envSchema.shape))
      expect(example).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
  });
});
