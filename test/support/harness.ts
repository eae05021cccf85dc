import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { createApp } from '@app/app.factory';
import { AppConfig } from '@app/config/app-config';
import { JobsService } from '@app/jobs/jobs.service';
import type { Scope } from '@app/keys/scopes';
import { freePort } from './free-port';
import { appUrl, ownerUrl } from './test-env';

export interface HttpResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as is, for malformed-body tests. */
  rawBody?: string;
}

/** One booted Quiver api (real AppModule, real Postgres and Redis) that tests talk to over HTTP. */
export class TestApp {
  constructor(
    readonly app: NestFastifyApplication,
    readonly baseUrl: string,
  ) {}

  get platformToken(): string {
    return process.env.QUIVER_TEST_PLATFORM_TOKEN!;
  }

  async request<T = any>(
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<HttpResponse<T>> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined = opts.rawBody;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  admin<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>(method, `/v1/admin${path}`, {
      token: this.platformToken,
      body,
      headers,
    });
  }

  /** Replaces a tenant's settings document, reading its current ETag first (If-Match). */
  async putSettings(tenantId: string, settings: Record<string, unknown>): Promise<HttpResponse> {
    const current = await this.admin('GET', `/tenants/${tenantId}/settings`);
    if (current.status !== 200) throw new Error(`settings: ${current.status}`);
    return this.admin(
      'PUT',
      `/tenants/${tenantId}/settings`,
      { settings },
      { 'if-match': current.headers.get('etag')! },
    );
  }

  /**
   * A fresh tenant and a tenant:admin key for it. Every test makes its own: no shared state.
   * On the enterprise plan unless told otherwise: suites about other features should not trip the
   * smaller plans' rate limits (test/rate-limits.e2e-spec.ts is about those).
   */
  async createTenant(prefix = 't', plan = 'enterprise'): Promise<TestTenant> {
    const slug = `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
    const t = await this.admin('POST', '/tenants', { slug, name: `Tenant ${slug}`, plan });
    if (t.status !== 201) throw new Error(`createTenant: ${t.status} ${JSON.stringify(t.body)}`);
    const k = await this.admin('POST', `/tenants/${t.body.id}/keys`, {
      name: 'admin',
      scopes: ['tenant:admin'],
    });
    if (k.status !== 201)
      throw new Error(`createTenant key: ${k.status} ${JSON.stringify(k.body)}`);
    return new TestTenant(this, t.body.id, slug, k.body.secret, k.body.id);
  }

  get jobs(): JobsService {
    return this.app.get(JobsService);
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}

export class TestTenant {
  constructor(
    readonly api: TestApp,
    readonly id: string,
    readonly slug: string,
    readonly adminKey: string,
    readonly adminKeyId: string,
  ) {}

  request<T = any>(method: string, path: string, body?: unknown, key = this.adminKey) {
    return this.api.request<T>(method, `/v1${path}`, { token: key, body });
  }

  async key(
    scopes: Scope[],
    extra: Record<string, unknown> = {},
  ): Promise<{ id: string; secret: string }> {
    const r = await this.request('POST', '/keys', {
      name: `k-${scopes.join('-')}`,
      scopes,
      ...extra,
    });
    if (r.status !== 201) throw new Error(`key: ${r.status} ${JSON.stringify(r.body)}`);
    return { id: r.body.id, secret: r.body.secret };
  }

  async collection(name: string, dimension: number, metric: 'cosine' | 'l2' | 'dot' = 'cosine') {
    const r = await this.request('POST', '/collections', { name, dimension, metric });
    if (r.status !== 201) throw new Error(`collection: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  async upsert(
    collection: string,
    vectors: Array<{ id: string; values: number[]; metadata?: object }>,
  ) {
    const r = await this.request('POST', `/collections/${collection}/vectors`, { vectors });
    if (r.status !== 200) throw new Error(`upsert: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }
}

/**
 * Boots the api on a random loopback port. `worker: true` also consumes the BullMQ queue in this
 * process, as src/worker.ts does in production.
 */
export async function startApp(
  env: Record<string, string> = {},
  options: { worker?: boolean; port?: number } = {},
): Promise<TestApp> {
  const config = AppConfig.fromEnvironment({
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.QUIVER_TEST_LOG_LEVEL ?? 'warn',
    LOG_REQUESTS: 'false',
    ...env,
  });
  const app = await createApp(config);
  await app.listen(options.port ?? 0, '127.0.0.1');
  if (options.worker) app.get(JobsService).startWorker();
  const address = app.getHttpServer().address() as { port: number };
  return new TestApp(app, `http://127.0.0.1:${address.port}`);
}

/**
 * The app as the OIDC suites run it: on a known loopback port that PUBLIC_URL names (so callback URLs
 * point back at it), reaching test IdPs on loopback over http, with the per-address login limit off.
 * `env` adds to or overrides that.
 */
export async function startSsoApp(env: Record<string, string> = {}): Promise<TestApp> {
  const port = await freePort();
  return startApp(
    {
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      SSO_ALLOW_HTTP_ISSUERS: 'true',
      SSO_ALLOW_PRIVATE_ADDRESSES: 'true',
      AUTH_LOGIN_PER_MINUTE: '0',
      ...env,
    },
    { port },
  );
}

/** A raw connection as the app role, for proving what the database itself allows. */
export async function appRoleClient(): Promise<Client> {
  const c = new Client({ connectionString: appUrl() });
  await c.connect();
  return c;
}

/**
 * A raw connection as the owner (migrations' role), for catalogue checks and for reading what was
 * stored. Forced RLS binds the owner too: this session sees every row of the platform table
 * `tenants` (app.platform), and tenant-owned rows only once app.tenant_id is set.
 */
export async function ownerClient(): Promise<Client> {
  const c = new Client({ connectionString: ownerUrl() });
  await c.connect();
  await c.query(`SET app.platform = 'on'`);
  return c;
}

export async function eventually<T>(
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await fn();
  while (!ok(last)) {
    if (Date.now() > deadline)
      throw new Error(
        `condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last)}`,
      );
    await new Promise((r) => setTimeout(r, 100));
    last = await fn();
  }
  return last;
}
