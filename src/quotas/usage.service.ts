import { Injectable } from '@nestjs/common';
import { emptyHistogram, mergeInto, percentile } from '@libs/latency';
import { CommonErrorCode, commonError } from '@app/common/errors/common-errors';
import { Db, TenantTxOptions } from '@app/database/db';
import {
  Leaderboard,
  LeaderboardQuery,
  UsagePoint,
  UsageQuery,
  UsageSeries,
} from './dto/usage.dto';
import type { Granularity } from './usage-recorder';
import { UsageRecorder } from './usage-recorder';

interface RollupRow {
  tenant_id: string;
  slug?: string;
  bucket: Date;
  endpoint_class: string;
  status_class: string;
  requests: string;
  searches: string;
  vectors_written: string;
  vectors_deleted: string;
  latency_histogram: string[];
}

const MAX_POINTS: Record<Granularity, number> = { hour: 744, day: 366 };
const STEP_MS: Record<Granularity, number> = { hour: 3_600_000, day: 86_400_000 };
const DEFAULT_SPAN: Record<Granularity, number> = { hour: 24, day: 30 };

const ROLLUP_COLUMNS = `r.tenant_id, r.bucket_start AS bucket, r.endpoint_class, r.status_class,
  r.requests::text, r.searches::text, r.vectors_written::text, r.vectors_deleted::text,
  r.latency_histogram::text[]`;

export interface Window {
  granularity: Granularity;
  from: Date;
  to: Date;
}

/** Usage analytics over the rollups UsageRecorder writes. */
@Injectable()
export class UsageService {
  constructor(
    private readonly db: Db,
    private readonly recorder: UsageRecorder,
  ) {}

  /** A tenant's time series. What is still in this process's memory is flushed first. */
  async series(
    tenantId: string,
    query: UsageQuery,
    options?: TenantTxOptions,
  ): Promise<UsageSeries> {
    const w = window(query);
    await this.recorder.flush();
    const { rows, storage } = await this.db.tenant(
      tenantId,
      async (tx) => ({
        rows: await tx.query<RollupRow>(
          `SELECT ${ROLLUP_COLUMNS} FROM usage_rollups r
            WHERE r.tenant_id = $1 AND r.granularity = $2 AND r.bucket_start >= $3 AND r.bucket_start < $4
            ORDER BY r.bucket_start`,
          [tenantId, w.granularity, w.from, w.to],
        ),
        storage: await tx.query<{ bucket: Date; stored_bytes: string }>(
          `SELECT bucket_start AS bucket, stored_bytes::text FROM usage_storage
            WHERE tenant_id = $1 AND granularity = $2 AND bucket_start >= $3 AND bucket_start < $4`,
          [tenantId, w.granularity, w.from, w.to],
        ),
      }),
      options,
    );
    const points = new Map<number, { point: UsagePoint; histogram: number[] }>();
    const at = (bucket: Date) => {
      let p = points.get(bucket.getTime());
      if (!p) {
        p = {
          point: {
            start: bucket.toISOString(),
            requests: 0,
            requestsByEndpoint: {},
            requestsByStatus: {},
            searches: 0,
            vectorsWritten: 0,
            vectorsDeleted: 0,
            storedBytes: null,
            p50Ms: null,
            p95Ms: null,
          },
          histogram: emptyHistogram(),
        };
        points.set(bucket.getTime(), p);
      }
      return p;
    };
    for (const r of rows) {
      const { point, histogram } = at(r.bucket);
      const n = Number(r.requests);
      point.requests += n;
      if (n > 0) {
        point.requestsByEndpoint[r.endpoint_class] =
          (point.requestsByEndpoint[r.endpoint_class] ?? 0) + n;
        point.requestsByStatus[r.status_class] = (point.requestsByStatus[r.status_class] ?? 0) + n;
      }
      point.searches += Number(r.searches);
      point.vectorsWritten += Number(r.vectors_written);
      point.vectorsDeleted += Number(r.vectors_deleted);
      mergeInto(histogram, r.latency_histogram.map(Number));
    }
    for (const s of storage) at(s.bucket).point.storedBytes = Number(s.stored_bytes);
    const out = [...points.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, { point, histogram }]) => ({
        ...point,
        p50Ms: percentile(histogram, 0.5),
        p95Ms: percentile(histogram, 0.95),
      }));
    return {
      tenantId,
      granularity: w.granularity,
      from: w.from.toISOString(),
      to: w.to.toISOString(),
      points: out,
    };
  }

  /** Tenants ranked by a usage metric over a window (platform). */
  async leaderboard(query: LeaderboardQuery): Promise<Leaderboard> {
    const w = window(query);
    const metric = query.metric ?? 'requests';
    const column = {
      requests: 'requests',
      searches: 'searches',
      vectorsWritten: 'vectors_written',
      vectorsDeleted: 'vectors_deleted',
    }[metric];
    await this.recorder.flush();
    const rows = await this.db.platform((tx) =>
      tx.query<{ tenant_id: string; slug: string; value: string }>(
        `SELECT r.tenant_id, t.slug, sum(r.${column})::text AS value
           FROM usage_rollups r JOIN tenants t ON t.id = r.tenant_id
          WHERE r.granularity = $1 AND r.bucket_start >= $2 AND r.bucket_start < $3
          GROUP BY r.tenant_id, t.slug HAVING sum(r.${column}) > 0
          ORDER BY sum(r.${column}) DESC, t.slug LIMIT $4`,
        [w.granularity, w.from, w.to, query.limit ?? 10],
      ),
    );
    return {
      metric,
      from: w.from.toISOString(),
      to: w.to.toISOString(),
      items: rows.map((r) => ({ tenantId: r.tenant_id, slug: r.slug, value: Number(r.value) })),
    };
  }

  /** Every tenant's rollups over a window as CSV, one line per period, endpoint and status class. */
  async exportCsv(query: UsageQuery): Promise<string> {
    const w = window(query);
    await this.recorder.flush();
    const rows = await this.db.platform((tx) =>
      tx.query<RollupRow>(
        `SELECT ${ROLLUP_COLUMNS}, t.slug FROM usage_rollups r JOIN tenants t ON t.id = r.tenant_id
          WHERE r.granularity = $1 AND r.bucket_start >= $2 AND r.bucket_start < $3
          ORDER BY t.slug, r.bucket_start, r.endpoint_class, r.status_class`,
        [w.granularity, w.from, w.to],
      ),
    );
    const header = [
      'tenant_id',
      'tenant_slug',
      'granularity',
      'period_start',
      'endpoint_class',
      'status_class',
      'requests',
      'searches',
      'vectors_written',
      'vectors_deleted',
      'p50_ms',
      'p95_ms',
    ];
    const lines = rows.map((r) => {
      const h = r.latency_histogram.map(Number);
      return [
        r.tenant_id,
        r.slug ?? '',
        w.granularity,
        r.bucket.toISOString(),
        r.endpoint_class,
        r.status_class,
        r.requests,
        r.searches,
        r.vectors_written,
        r.vectors_deleted,
        percentile(h, 0.5) ?? '',
        percentile(h, 0.95) ?? '',
      ]
        .map((v) => csvField(String(v)))
        .join(',');
    });
    return [header.join(','), ...lines].join('\r\n') + '\r\n';
  }
}

/** RFC 4180: quote fields holding a comma, quote or line break; neutralise spreadsheet formulas. */
function csvField(v: string): string {
  const safe = /^[=+\-@]/.test(v) && !/^-?\d/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The query's window, aligned to whole periods, within the per-request limit. */
export function window(query: UsageQuery): Window {
  const granularity = query.granularity ?? 'hour';
  const step = STEP_MS[granularity];
  const align = (ms: number, up: boolean) =>
    (up ? Math.ceil(ms / step) : Math.floor(ms / step)) * step;
  const to = align(query.to ? Date.parse(query.to) : Date.now(), true);
  const from = align(
    query.from ? Date.parse(query.from) : to - DEFAULT_SPAN[granularity] * step,
    false,
  );
  if (!(from < to)) {
    throw commonError(CommonErrorCode.ValidationFailed, 'from must be before to.', {
      errors: [{ path: 'from', message: 'must be before to' }],
    });
  }
  if ((to - from) / step > MAX_POINTS[granularity]) {
    throw commonError(
      CommonErrorCode.ValidationFailed,
      `At most ${MAX_POINTS[granularity]} ${granularity}s per request.`,
      {
        errors: [
          { path: 'from', message: `at most ${MAX_POINTS[granularity]} ${granularity}s before to` },
        ],
      },
    );
  }
  return { granularity, from: new Date(from), to: new Date(to) };
}
