import { mkdirSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * Postgres in-process (PGlite with pgvector), persisted in a directory and served on a loopback
 * port through pglite-socket, so the app uses the same `pg` driver path as production.
 *
 * PGlite has one backend and one user (the superuser `postgres`): isolation holds because every
 * transaction switches to the app role with set_config('role', ...), as in production. The app
 * uses a pool of one connection here: PGlite serialises queries, and a single connection rules out
 * interleaved extended-protocol messages from several clients outside a transaction.
 */
export class EmbeddedPostgres {
  private readonly logger = new Logger('EmbeddedPostgres');

  private constructor(
    private readonly db: PGlite,
    private readonly server: PGLiteSocketServer,
    readonly url: string,
  ) {}

  static async start(dataDir: string): Promise<EmbeddedPostgres> {
    mkdirSync(dataDir, { recursive: true });
    const db = await PGlite.create({ dataDir, extensions: { vector } });
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
    await server.start();
    const [host, port] = server.getServerConn().split(':');
    return new EmbeddedPostgres(db, server, `postgres://postgres@${host}:${port}/postgres`);
  }

  async stop(): Promise<void> {
    try {
      await this.server.stop();
    } finally {
      await this.db.close();
      this.logger.log('embedded Postgres closed');
    }
  }
}
