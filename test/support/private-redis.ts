import { ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { freePort } from './free-port';
import { eventually } from './harness';

function accepts(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const probe = connect(port, '127.0.0.1');
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * A redis-server of a test's own, on a spare loopback port, for tests that take Redis away: the
 * shared one is never stopped. No persistence, so a restart comes back empty.
 */
export class PrivateRedis {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again, on the same port) and waits until it accepts connections. */
  async restart(): Promise<void> {
    if (this.child) throw new Error('private redis is already running');
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    await eventually(
      () => accepts(this.port),
      (up) => up,
      5000,
    );
  }

  /**
   * Freezes the server (SIGSTOP): connections stay open and commands are accepted by the kernel, but
   * nothing is answered until resume(). A hung Redis, as opposed to a gone one.
   */
  pause(): void {
    if (!this.child) throw new Error('private redis is not running');
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Kills the server and waits for it to be gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // SIGKILL ends a stopped process too; SIGCONT first lets the exit be reported at once.
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * A client connected to a private redis-server that is then frozen (PrivateRedis.pause): a hung Redis,
 * whose connection stays up and whose commands are never answered. close() disconnects and kills it.
 */
export async function frozenRedisClient(): Promise<{ client: Redis; close(): Promise<void> }> {
  const server = await PrivateRedis.start();
  const client = new Redis(server.url, { maxRetriesPerRequest: 0 });
  await client.ping();
  server.pause();
  return {
    client,
    close: async () => {
      client.disconnect();
      await server.stop();
    },
  };
}
