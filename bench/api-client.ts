import { z } from 'zod';

const TenantSchema = z.object({ id: z.string().uuid(), slug: z.string() });
const KeySchema = z.object({
  id: z.string().uuid(),
  secret: z.string(),
  signingSecret: z.string().optional(),
});
const CollectionSchema = z.object({
  id: z.string().uuid(),
  name: z.string(),
  dimension: z.number().int(),
  metric: z.enum(['cosine', 'l2', 'dot']),
  index: z.object({ kind: z.enum(['hnsw', 'hnsw_halfvec', 'none']) }),
});
const UpsertSchema = z.object({ upserted: z.number().int() });
const SearchSchema = z.object({
  matches: z.array(z.object({ id: z.string(), score: z.number() })),
  mode: z.enum(['exact', 'approximate']),
});

/** A non-2xx answer from the API. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type CollectionInfo = z.infer<typeof CollectionSchema>;
export type SearchResponse = z.infer<typeof SearchSchema>;

export interface SearchBody {
  vector: number[];
  topK: number;
  mode?: 'auto' | 'exact' | 'approximate';
  efSearch?: number;
  includeMetadata: boolean;
}

/** The orchestrator's client for setting up data through the public API (not for load). */
const HUGE = [{ limit: 100_000_000, window: '1s' }];
export const NO_REFUSALS = { tenant: HUGE, search: HUGE, read: HUGE, write: HUGE, admin: HUGE };

export class ApiClient {
  constructor(
    readonly origin: string,
    private readonly platformToken: string,
  ) {}

  /**
   * A pro-plan tenant whose rate limits are set far above what this machine can send, unless given:
   * the limiter stays on the request path (its cost is part of every row) but refuses nothing.
   * `settings` adds other parts of the settings document (an IP allowlist, say).
   */
  async createTenant(
    slug: string,
    rateLimits: Record<string, Array<{ limit: number; window: string }>> = NO_REFUSALS,
    settings: Record<string, unknown> = {},
  ): Promise<z.infer<typeof TenantSchema>> {
    return this.call(TenantSchema, 'POST', '/v1/admin/tenants', this.platformToken, {
      slug,
      name: `Bench ${slug}`,
      plan: 'pro',
      settings: { ...settings, rateLimits },
    });
  }

  /** A key with restrictions (allowedIps, signing, requireSignature, ...): id and secrets. */
  issueRestrictedKey(
    tenantId: string,
    restrictions: Record<string, unknown>,
  ): Promise<z.infer<typeof KeySchema>> {
    return this.call(KeySchema, 'POST', `/v1/admin/tenants/${tenantId}/keys`, this.platformToken, {
      name: 'bench restricted',
      scopes: ['tenant:admin'],
      ...restrictions,
    });
  }

  /** Replaces the tenant's rate limits, keeping the rest of its settings (read-modify-write by ETag). */
  async setRateLimits(
    tenantId: string,
    rateLimits: Record<string, Array<{ limit: number; window: string }>>,
  ): Promise<void> {
    const path = `/v1/admin/tenants/${tenantId}/settings`;
    const auth = { authorization: `Bearer ${this.platformToken}` };
    const current = await fetch(`${this.origin}${path}`, { headers: auth });
    if (!current.ok) throw new ApiError(current.status, `GET ${path}: ${current.status}`);
    const { settings } = (await current.json()) as { settings: Record<string, unknown> };
    const res = await fetch(`${this.origin}${path}`, {
      method: 'PUT',
      headers: {
        ...auth,
        'content-type': 'application/json',
        'if-match': current.headers.get('etag') ?? '',
      },
      body: JSON.stringify({ settings: { ...settings, rateLimits } }),
    });
    if (!res.ok) throw new ApiError(res.status, `PUT ${path}: ${res.status} ${await res.text()}`);
  }

  /** A tenant:admin key for the tenant; returns its secret. */
  async issueKey(tenantId: string): Promise<string> {
    const key = await this.call(
      KeySchema,
      'POST',
      `/v1/admin/tenants/${tenantId}/keys`,
      this.platformToken,
      { name: 'bench', scopes: ['tenant:admin'] },
    );
    return key.secret;
  }

  createCollection(apiKey: string, name: string, dimension: number): Promise<CollectionInfo> {
    return this.call(CollectionSchema, 'POST', '/v1/collections', apiKey, {
      name,
      dimension,
      metric: 'cosine',
    });
  }

  async upsert(apiKey: string, collection: string, vectors: unknown[]): Promise<number> {
    const res = await this.call(
      UpsertSchema,
      'POST',
      `/v1/collections/${collection}/vectors`,
      apiKey,
      { vectors },
    );
    return res.upserted;
  }

  search(apiKey: string, collection: string, body: SearchBody): Promise<SearchResponse> {
    return this.call(SearchSchema, 'POST', `/v1/collections/${collection}/search`, apiKey, body);
  }

  private async call<S extends z.ZodTypeAny>(
    schema: S,
    method: string,
    path: string,
    credential: string,
    body?: unknown,
  ): Promise<z.infer<S>> {
    const res = await fetch(`${this.origin}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${credential}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok)
      throw new ApiError(res.status, `${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
    return schema.parse(JSON.parse(text) as unknown) as z.infer<S>;
  }
}

/** Runs `fn` over `items` with at most `parallel` in flight; results keep the input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  parallel: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, () => worker()));
  return out;
}
