import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { emptyHistogram, mergeInto, observe } from '@libs/latency';
import { TENANT_ON_RAW_REQUEST } from '@app/common/logging';
import { AppConfig } from '@app/config/app-config';
import { Db } from '@app/database/db';

export const GRANULARITIES = ['hour', 'day'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export const ENDPOINT_CLASSES = [
  'search',
  'upsert',
  'fetch',
  'delete',
  'count',
  'collections',
  'keys',
  'admin',
] as const;
export type EndpointClass = (typeof ENDPOINT_CLASSES)[number];

interface Aggregate {
  requests: number;
  searches: number;
  vectorsWritten: number;
  vectorsDeleted: number;
  latencyMsSum: number;
  histogram: number[];
}

/** tenant -> "bucketIso|class|statusClass" (hour buckets; day rows are derived at flush) -> counts */
type Pending = Map<string, Map<string, Aggregate>>;

const VECTOR_ROUTE = /^\/v1\/collections\/:[^/]+\/(search|vectors)(?:\/(fetch|delete|count))?$/;

/** The endpoint class of a tenant route pattern (bounded: never a name or an id). */
export function endpointClass(route: string, method: string): EndpointClass {
  const m = VECTOR_ROUTE.exec(route);
  if (m) {
    if (m[1] === 'search') return 'search';
    if (m[2]) return m[2] as EndpointClass;
    return method === 'POST' ? 'upsert' : 'admin';
  }
  if (route.startsWith('/v1/collections')) return 'collections';
  if (route.startsWith('/v1/keys')) return 'keys';
  return 'admin';
}

/**
 * Per-request usage, aggregated in memory and flushed to Postgres rollups (usage_rollups) every
 * USAGE_FLUSH_INTERVAL_MS and at shutdown. The request path pays a map update in an onResponse
 * hook, after the response is sent. A flush that fails puts its counts back, so they go with the
 * next one; rows are additive, so any number of processes flush into the same rollups.
 */
@Injectable()
export class UsageRecorder implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('UsageRecorder');
  private pending: Pending = new Map();
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private hourStart = Number.NaN;
  private hourIso = '';

  constructor(
    private readonly db: Db,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.config.env.USAGE_FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** Called after the HTTP server has closed: what is still in memory goes to the database. */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  observe(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', (req, reply, done) => {
      this.recordRequest(req, reply);
      done();
    });
  }

  /** Vectors an upsert actually wrote (called by the vectors service). */
  vectorsWritten(tenantId: string, n: number): void {
    this.aggregate(tenantId, 'upsert', '2xx', Date.now()).vectorsWritten += n;
  }

  /** Vectors a delete actually removed. */
  vectorsDeleted(tenantId: string, n: number): void {
    this.aggregate(tenantId, 'delete', '2xx', Date.now()).vectorsDeleted += n;
  }

  private recordRequest(req: FastifyRequest, reply: FastifyReply): void {
    const tenantId = (req.raw as unknown as Record<symbol, string | undefined>)[
      TENANT_ON_RAW_REQUEST
    ];
    const route = req.routeOptions.url;
    // Platform routes and unauthenticated requests belong to no tenant.
    if (!tenantId || !route || route.startsWith('/v1/admin')) return;
    const cls = endpointClass(route, req.method);
    const status = `${Math.floor(reply.statusCode / 100)}xx`;
    const a = this.aggregate(tenantId, cls, status, Date.now());
    const ms = reply.elapsedTime;
    a.requests++;
    if (cls === 'search' && status === '2xx') a.searches++;
    a.latencyMsSum += ms;
    observe(a.histogram, ms);
  }

  /** The ISO start of the hour of `now`, remembered: every request asks, and hours are long. */
  private hourOf(now: number): string {
    const start = now - (now % 3_600_000);
    if (start !== this.hourStart) {
      this.hourStart = start;
      this.hourIso = new Date(start).toISOString();
    }
    return this.hourIso;
  }

  private aggregate(tenantId: string, cls: string, status: string, now: number): Aggregate {
    let byKey = this.pending.get(tenantId);
    if (!byKey) this.pending.set(tenantId, (byKey = new Map<string, Aggregate>()));
    const key = `${this.hourOf(now)}|${cls}|${status}`;
    let a = byKey.get(key);
    if (!a) {
      a = {
        requests: 0,
        searches: 0,
        vectorsWritten: 0,
        vectorsDeleted: 0,
        latencyMsSum: 0,
        histogram: emptyHistogram(),
      };
      byKey.set(key, a);
    }
    return a;
  }

  /** Writes what is in memory; flushes never overlap. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow());
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    for (const [tenantId, byKey] of batch) {
      try {
        await this.write(tenantId, byKey);
      } catch (err) {
        this.logger.warn({ err, tenantId }, 'could not flush usage; kept for the next flush');
        for (const [key, a] of byKey) {
          const [bucket, cls, status] = key.split('|');
          const into = this.aggregate(tenantId, cls, status, Date.parse(bucket));
          into.requests += a.requests;
          into.searches += a.searches;
          into.vectorsWritten += a.vectorsWritten;
          into.vectorsDeleted += a.vectorsDeleted;
          into.latencyMsSum += a.latencyMsSum;
          mergeInto(into.histogram, a.histogram);
        }
      }
    }
  }

  private async write(tenantId: string, byKey: Map<string, Aggregate>): Promise<void> {
    const rows: Array<[Granularity, string, string, string, Aggregate]> = [];
    for (const [key, a] of byKey) {
      const [bucket, cls, status] = key.split('|');
      rows.push(['hour', bucket, cls, status, a]);
      rows.push(['day', `${bucket.slice(0, 10)}T00:00:00.000Z`, cls, status, a]);
    }
    const col = <T>(f: (r: (typeof rows)[number]) => T) => rows.map(f);
    await this.db.tenant(
      tenantId,
      async (tx) => {
        // A deleted tenant's usage is dropped with it (the purge would delete it anyway).
        const [exists] = await tx.query(`SELECT 1 FROM tenants WHERE id = $1`, [tenantId]);
        if (!exists) return;
        await tx.execute(
          `INSERT INTO usage_rollups AS r (tenant_id, granularity, bucket_start, endpoint_class, status_class,
             requests, searches, vectors_written, vectors_deleted, latency_ms_sum, latency_histogram)
           SELECT $1, u.g, u.b, u.c, u.s, u.rq, u.se, u.vw, u.vd, u.ls, u.h::bigint[]
             FROM unnest($2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::bigint[], $7::bigint[],
                         $8::bigint[], $9::bigint[], $10::float8[], $11::text[])
                  AS u(g, b, c, s, rq, se, vw, vd, ls, h)
           ON CONFLICT (tenant_id, granularity, bucket_start, endpoint_class, status_class) DO UPDATE SET
             requests = r.requests + EXCLUDED.requests,
             searches = r.searches + EXCLUDED.searches,
             vectors_written = r.vectors_written + EXCLUDED.vectors_written,
             vectors_deleted = r.vectors_deleted + EXCLUDED.vectors_deleted,
             latency_ms_sum = r.latency_ms_sum + EXCLUDED.latency_ms_sum,
             latency_histogram = ARRAY(
               SELECT x + y FROM unnest(r.latency_histogram, EXCLUDED.latency_histogram) WITH ORDINALITY AS t(x, y, i)
                ORDER BY i)`,
          [
            tenantId,
            col((r) => r[0]),
            col((r) => r[1]),
            col((r) => r[2]),
            col((r) => r[3]),
            col((r) => r[4].requests),
            col((r) => r[4].searches),
            col((r) => r[4].vectorsWritten),
            col((r) => r[4].vectorsDeleted),
            col((r) => r[4].latencyMsSum),
            col((r) => `{${r[4].histogram.join(',')}}`),
          ],
        );
        // Stored bytes: the peak seen at flushes in each period this flush touched.
        const now = Date.now();
        const hour = new Date(now - (now % 3_600_000)).toISOString();
        await tx.execute(
          `INSERT INTO usage_storage AS s (tenant_id, granularity, bucket_start, stored_bytes)
           SELECT $1, u.g, u.b, COALESCE((SELECT used FROM quota_usage WHERE tenant_id = $1 AND resource = 'storedBytes'), 0)
             FROM unnest($2::text[], $3::timestamptz[]) AS u(g, b)
           ON CONFLICT (tenant_id, granularity, bucket_start)
             DO UPDATE SET stored_bytes = GREATEST(s.stored_bytes, EXCLUDED.stored_bytes)`,
          [tenantId, ['hour', 'day'], [hour, `${hour.slice(0, 10)}T00:00:00.000Z`]],
        );
      },
      { require: 'any' },
    );
  }
}
