import { Global, Logger, Module } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { SecretBox } from '@libs/crypto';
import { AppConfig } from '@app/config/app-config';

export const SECRET_BOX = Symbol('SECRET_BOX');

/**
 * The key that encrypts secrets at rest: QUIVER_ENCRYPTION_KEY, or in embedded mode a key file
 * beside the data (created once, readable by the owner only), so `npm start` works out of the box
 * and restarts can still read what was stored. With an external database and no key: null, and the
 * features that need it say so.
 */
export function loadSecretBox(config: AppConfig): SecretBox | null {
  if (config.env.QUIVER_ENCRYPTION_KEY)
    return SecretBox.fromBase64(config.env.QUIVER_ENCRYPTION_KEY);
  if (config.databaseMode !== 'embedded') return null;
  mkdirSync(config.embeddedDataDir, { recursive: true });
  const file = path.join(config.embeddedDataDir, 'encryption.key');
  if (!existsSync(file)) {
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
    new Logger('Secrets').log(`created an encryption key for secrets at rest: ${file}`);
  }
  return SecretBox.fromBase64(readFileSync(file, 'utf8'));
}

@Global()
@Module({
  providers: [{ provide: SECRET_BOX, inject: [AppConfig], useFactory: loadSecretBox }],
  exports: [SECRET_BOX],
})
export class SecretsModule {}
