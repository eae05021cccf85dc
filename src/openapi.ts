import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createApp, openApiDocument } from './app.factory';
import { AppConfig } from './config/app-config';

/**
 * `npm run openapi`: writes the OpenAPI document to openapi.json at the repository root, from the
 * same app the server runs (booted on a throwaway embedded database). A test fails when the
 * committed file and the app disagree.
 */
async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'quiver-openapi-'));
  try {
    const config = AppConfig.fromEnvironment({
      EMBEDDED_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      LOG_REQUESTS: 'false',
      NODE_ENV: 'production',
    });
    const app = await createApp(config);
    const doc = openApiDocument(app);
    const out = path.resolve(__dirname, '..', '..', 'openapi.json');
    writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
    await app.close();
    process.stdout.write(`wrote ${out}\n`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
