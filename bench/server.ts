import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { BenchDatabase } from './database';
import { envSchema } from '@app/config/config.schema';
import { STARTUP_NODE_FLAGS } from '@app/runtime/v8-flags';
import { REDIS_URL } from './redis-cleanup';

export const ROOT = path.resolve(__dirname, '..');
export const SERVER_ENTRY = 'dist/src/main.js';
/** How the bench starts the api: as `npm start` and the Docker image do. */
export const SERVER_COMMAND = `node ${STARTUP_NODE_FLAGS.join(' ')} ${SERVER_ENTRY}`;

export interface ServerOptions {
  db: BenchDatabase;
  /** BullMQ key prefix, a Redis Cluster hash tag such as {quiver-bench}. */
  queuePrefix: string;
  port: number;
  platformToken: string;
  /** QUIVER_ENCRYPTION_KEY for the run (32 random bytes, base64): signing secrets need one. */
  encryptionKey: string;
  logFile: string;
  /** When set, the server runs with --cpu-prof and writes its profile here at exit. */
  profileDir?: string;
  /** API_PROCESSES: above 1 the server is a primary with that many workers. Default 1. */
  processes?: number;
  /** Quiver settings on top of the bench's own (RATE_LIMIT_ENABLED=false for a limiter-off row). */
  settings?: Record<string, string>;
}

/** The server's environment as the bench sets it. Everything else Quiver reads is left unset. */
export function serverEnv(
  opts: Pick<
    ServerOptions,
    'db' | 'port' | 'platformToken' | 'encryptionKey' | 'queuePrefix' | 'processes' | 'settings'
  >,
): Record<string, string> {
  return {
    NODE_ENV: 'production',
    API_PROCESSES: String(opts.processes ?? 1),
    LOG_REQUESTS: 'false',
    // The default level: no request is logged at it (LOG_REQUESTS is off), and the cluster primary
    // says at it when all its workers are listening (waitReady).
    LOG_LEVEL: 'info',
    // The tenant-context baseline route (src/bench-support).
    BENCH_ROUTES: 'true',
    BENCH_BASELINE_DATABASE_URL: opts.db.baselineUrl,
    HOST: '127.0.0.1',
    PORT: String(opts.port),
    DATABASE_URL: opts.db.appUrl,
    DATABASE_OWNER_URL: opts.db.ownerUrl,
    MIGRATIONS_RUN: 'true',
    REDIS_URL,
    QUEUE_PREFIX: opts.queuePrefix,
    QUIVER_BOOTSTRAP_TOKEN: opts.platformToken,
    QUIVER_ENCRYPTION_KEY: opts.encryptionKey,
    ...opts.settings,
  };
}

/** Names of the settings Quiver reads (src/config/config.schema.ts), cleared so none leaks in. */
const QUIVER_SETTINGS = Object.keys(envSchema.shape);

export class Server {
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly origin: string,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        resolve();
      }),
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Starts SERVER_COMMAND and waits until it is ready (waitReady). */
  static async start(opts: ServerOptions): Promise<Server> {
    const entry = path.join(ROOT, SERVER_ENTRY);
    if (!existsSync(entry)) throw new Error(`${SERVER_ENTRY} is missing: run "nest build" first`);
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of QUIVER_SETTINGS) delete env[k];
    Object.assign(env, serverEnv(opts));
    const log = openSync(opts.logFile, 'w');
    const nodeArgs = opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [];
    const child = spawn(process.execPath, [...nodeArgs, ...STARTUP_NODE_FLAGS, entry], {
      cwd: ROOT,
      env,
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    const server = new Server(child, `http://127.0.0.1:${opts.port}`, opts.logFile);
    try {
      await server.waitReady(60_000, opts.processes ?? 1);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  /**
   * Until /health/ready answers 200 and, with several processes, the primary has logged that every
   * worker is listening: it hands each new connection to a worker already listening, so a row that
   * opened its connections while one was still booting would load the others alone.
   */
  private async waitReady(timeoutMs: number, processes: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exitCode !== undefined) {
        throw new Error(`the server exited (${this.exitCode}) at start:\n${this.logTail()}`);
      }
      if (processes > 1 && this.logLines('all api workers are listening') === 0) {
        await sleep(200);
        continue;
      }
      try {
        const res = await fetch(`${this.origin}/health/ready`);
        await res.arrayBuffer();
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
    throw new Error(`the server was not ready within ${timeoutMs} ms:\n${this.logTail()}`);
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no server log)';
    }
  }

  /** How many lines of the server log contain `text`. */
  logLines(text: string): number {
    try {
      return readFileSync(this.logFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes(text)).length;
    } catch {
      return 0;
    }
  }

  /** SIGTERM (graceful shutdown), then SIGKILL if it is still there after 15 s. */
  async stop(): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** A port the OS says is free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
