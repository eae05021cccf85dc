import { Injectable } from '@nestjs/common';
import { andFilters, compileFilter, evaluateFilter, FilterError } from '@libs/filter';
import { AccessScope, UNRESTRICTED } from '@app/common/context/principal';
import { AppConfig } from '@app/config/app-config';
import { Db } from '@app/database/db';
import { OutboxService } from '@app/events/outbox.service';
import { QuotasService } from '@app/quotas/quotas.service';
import { UsageRecorder } from '@app/quotas/usage-recorder';
import {
  assertCollectionPermitted,
  CollectionRow,
  CollectionsService,
} from './collections.service';
import {
  CountResult,
  DeleteResult,
  DeleteVectorsDto,
  FetchResult,
  FetchVectorsDto,
  SearchDto,
  SearchMatch,
  SearchResult,
  StoredVector,
  UpsertResult,
} from './dto/vectors.dto';
import {
  checkBatch,
  checkId,
  checkValues,
  toVectorLiteral,
  VectorProblem,
} from './vector-validation';
import { VectorsErrorCode, vectorsError } from './vectors.errors';
import { OneTripSearch, SearchRow } from './one-trip-search';

const DISTANCE_OPERATOR = { cosine: '<=>', l2: '<->', dot: '<#>' } as const;

/** The data plane: upsert, fetch, delete, count and search vectors of one collection. */
@Injectable()
export class VectorsService {
  constructor(
    private readonly db: Db,
    private readonly collections: CollectionsService,
    private readonly outbox: OutboxService,
    private readonly config: AppConfig,
    private readonly quotas: QuotasService,
    private readonly usage: UsageRecorder,
    private readonly oneTrip: OneTripSearch,
  ) {}

  /** All or nothing: the whole batch is validated first and written in one statement. */
  async upsert(
    tenantId: string,
    collectionName: string,
    items: unknown,
    scope: AccessScope = UNRESTRICTED,
  ): Promise<UpsertResult> {
    assertCollectionPermitted(scope, collectionName);
    const written = await this.quotas.write(tenantId, async (tx) => {
      const c = await this.collections.resolve(tx, collectionName, 'key share');
      const checked = checkBatch(items, c.dimension, c.metric === 'cosine');
      if (!checked.ok) throw problemToError(checked.problem);
      // A scoped key writes only rows its filter matches, and overwrites only rows it matches too
      // (the ON CONFLICT ... WHERE below); either way the whole batch is refused.
      const guard = scope.filter
        ? compileFilter(scope.filter, { column: 'vectors.metadata', paramOffset: 4 })
        : undefined;
      if (scope.filter) {
        const outside = checked.vectors.findIndex((v) => !evaluateFilter(scope.filter, v.metadata));
        if (outside >= 0)
          throw filterViolation(
            `vectors[${outside}].metadata does not match the key's enforced filter.`,
          );
      }
      // Rows go in in id order, so concurrent batches sharing ids take their index locks in the same
      // order instead of deadlocking. Partitioned tables have no usable xmax in RETURNING; the CTE's snapshot predates the insert,
      // so `existing` tells updates from inserts in the same round trip.
      const [counts] = await tx.query<{ upserted: number; updated: number }>(
        `WITH existing AS (
           SELECT id FROM vectors WHERE tenant_id = $1 AND collection_id = '${c.id}' AND id = ANY($2::text[])
         ), written AS (
           INSERT INTO vectors (tenant_id, collection_id, id, embedding, metadata)
           SELECT $1::uuid, '${c.id}'::uuid, u.id, u.embedding::vector, u.metadata
             FROM unnest($2::text[], $3::text[], $4::jsonb[]) AS u(id, embedding, metadata)
            ORDER BY u.id
           ON CONFLICT (tenant_id, collection_id, id)
             DO UPDATE SET embedding = EXCLUDED.embedding, metadata = EXCLUDED.metadata, updated_at = now()
             ${guard ? `WHERE ${guard.sql}` : ''}
           RETURNING id
         )
         SELECT (SELECT count(*) FROM written)::int AS upserted, (SELECT count(*) FROM existing)::int AS updated`,
        [
          tenantId,
          checked.vectors.map((v) => v.id),
          checked.vectors.map((v) => toVectorLiteral(v.values)),
          checked.vectors.map((v) => JSON.stringify(v.metadata)),
          ...(guard?.params ?? []),
        ],
      );
      if (counts.upserted < checked.vectors.length) {
        throw filterViolation(
          "The batch would overwrite vectors outside the key's enforced filter.",
        );
      }
      // The vectors triggers counted what the statement really inserted and replaced.
      await this.quotas.enforce(tx, tenantId, ['storedBytes', 'vectors']);
      const result = {
        upserted: counts.upserted,
        inserted: counts.upserted - counts.updated,
        updated: counts.updated,
      };
      await this.outbox.record(tx, tenantId, 'vectors.upserted', {
        collectionId: c.id,
        collection: c.name,
        ...result,
      });
      return result;
    });
    // Counted once committed: vectors written, new or replaced.
    this.usage.vectorsWritten(tenantId, written.upserted);
    return written;
  }

  async fetch(
    tenantId: string,
    collectionName: string,
    dto: FetchVectorsDto,
    scope: AccessScope = UNRESTRICTED,
  ): Promise<FetchResult> {
    assertCollectionPermitted(scope, collectionName);
    assertIds(dto.ids);
    const f = compileScoped(undefined, scope, 2);
    const includeValues = dto.includeValues ?? true;
    const includeMetadata = dto.includeMetadata ?? true;
    const rows = await this.db.tenant(tenantId, async (tx) => {
      const c = await this.collections.resolve(tx, collectionName);
      return tx.query<{ id: string; values?: number[]; metadata?: Record<string, unknown> }>(
        `SELECT id${includeValues ? ', embedding::real[] AS values' : ''}${includeMetadata ? ', metadata' : ''}
           FROM vectors WHERE tenant_id = $1 AND collection_id = '${c.id}' AND id = ANY($2::text[]) AND ${f.sql}`,
        [tenantId, dto.ids, ...f.params],
      );
    });
    const byId = new Map(rows.map((r) => [r.id, r]));
    const vectors: StoredVector[] = [];
    const missing: string[] = [];
    for (const id of new Set(dto.ids)) {
      const row = byId.get(id);
      if (row) vectors.push(row);
      else missing.push(id);
    }
    return { vectors, missing };
  }

  async delete(
    tenantId: string,
    collectionName: string,
    dto: DeleteVectorsDto,
    scope: AccessScope = UNRESTRICTED,
  ): Promise<DeleteResult> {
    assertCollectionPermitted(scope, collectionName);
    const byIds = dto.ids !== undefined;
    const byFilter = dto.filter !== undefined;
    if (byIds === byFilter) {
      throw vectorsError(
        VectorsErrorCode.InvalidDeleteRequest,
        'Give either ids or filter (not both).',
      );
    }
    if (byIds) assertIds(dto.ids!);
    if (byFilter && Object.keys(dto.filter!).length === 0) {
      throw vectorsError(
        VectorsErrorCode.InvalidDeleteRequest,
        'An empty filter would delete every vector; delete the collection instead.',
      );
    }
    const result = await this.db.tenant(tenantId, async (tx) => {
      const c = await this.collections.resolve(tx, collectionName, 'key share');
      let deleted: number;
      if (byIds) {
        const f = compileScoped(undefined, scope, 2);
        deleted = await tx.execute(
          `DELETE FROM vectors WHERE tenant_id = $1 AND collection_id = '${c.id}' AND id = ANY($2::text[]) AND ${f.sql}`,
          [tenantId, dto.ids, ...f.params],
        );
      } else {
        const f = compileScoped(dto.filter, scope, 1);
        deleted = await tx.execute(
          `DELETE FROM vectors WHERE tenant_id = $1 AND collection_id = '${c.id}' AND ${f.sql}`,
          [tenantId, ...f.params],
        );
      }
      if (deleted > 0) {
        await this.outbox.record(tx, tenantId, 'vectors.deleted', {
          collectionId: c.id,
          collection: c.name,
          deleted,
          by: byIds ? 'ids' : 'filter',
        });
      }
      return { deleted };
    });
    if (result.deleted > 0) this.usage.vectorsDeleted(tenantId, result.deleted);
    return result;
  }

  async count(
    tenantId: string,
    collectionName: string,
    filter?: Record<string, unknown>,
    scope: AccessScope = UNRESTRICTED,
  ): Promise<CountResult> {
    assertCollectionPermitted(scope, collectionName);
    const f = compileScoped(filter, scope, 1);
    return this.db.tenant(tenantId, async (tx) => {
      const c = await this.collections.resolve(tx, collectionName);
      const [{ count }] = await tx.query<{ count: string }>(
        `SELECT count(*) FROM vectors WHERE tenant_id = $1 AND collection_id = '${c.id}' AND ${f.sql}`,
        [tenantId, ...f.params],
      );
      return { count: Number(count) };
    });
  }

  async search(
    tenantId: string,
    collectionName: string,
    dto: SearchDto,
    scope: AccessScope = UNRESTRICTED,
  ): Promise<SearchResult> {
    assertCollectionPermitted(scope, collectionName);
    const topK = dto.topK ?? 10;
    const filter = compileScoped(dto.filter, scope, 3);
    const includeValues = dto.includeValues ?? false;
    const includeMetadata = dto.includeMetadata ?? true;
    const prepare = (c: CollectionRow) => {
      const problem = checkValues(dto.vector, c.dimension, c.metric === 'cosine', 'vector');
      if (problem) throw problemToError(problem);
      const mode = this.chooseMode(c, dto.mode ?? 'auto');
      return { mode, sql: searchSql(c, mode, filter.sql, includeValues, includeMetadata) };
    };
    const result = (c: CollectionRow, mode: 'exact' | 'approximate', rows: SearchRow[]) => ({
      matches: rows.map((r): SearchMatch => ({
        id: r.id,
        score: toScore(c.metric, Number(r.distance)),
        ...(r.values ? { values: r.values } : {}),
        ...(r.metadata ? { metadata: r.metadata } : {}),
      })),
      mode,
    });
    // Unfiltered: one round trip on a collection this instance knows, two the first time
    // (one-trip-search.ts). A remembered collection may be stale (deleted, re-created with another
    // dimension), so it never decides an error: anything it refuses goes the general way, which
    // looks the collection up afresh and answers in the usual words.
    const known =
      filter.sql === 'TRUE'
        ? (this.oneTrip.known(tenantId, collectionName) ??
          (await this.oneTrip.lookup(tenantId, collectionName)))
        : undefined;
    const fast = known && attempt(() => prepare(known));
    if (known && fast) {
      const { mode, sql } = fast;
      const rows = await this.oneTrip.search(tenantId, known, {
        sql,
        vector: dto.vector as number[],
        topK,
        efSearch: dto.efSearch,
      });
      if (rows) return result(known, mode, rows);
    }
    return this.db.tenant(tenantId, async (tx) => {
      const c = await this.collections.resolveForSearch(tx, collectionName, {
        efSearch: dto.efSearch,
        topK,
        filtered: filter.sql !== 'TRUE',
      });
      this.oneTrip.remember(c);
      const { mode, sql } = prepare(c);
      const rows = await tx.query<SearchRow>(sql, [
        toVectorLiteral(dto.vector as number[]),
        tenantId,
        topK,
        ...filter.params,
      ]);
      return result(c, mode, rows);
    });
  }

  private chooseMode(
    c: CollectionRow,
    requested: 'auto' | 'exact' | 'approximate',
  ): 'exact' | 'approximate' {
    const indexed = c.index_kind !== 'none';
    if (requested === 'approximate' && !indexed) {
      throw vectorsError(
        VectorsErrorCode.ApproximateSearchUnavailable,
        `Collection "${c.name}" has ${c.dimension} dimensions: above 4,000 pgvector has no HNSW index, so only exact search is available.`,
      );
    }
    if (requested === 'auto') return indexed ? 'approximate' : 'exact';
    return requested;
  }
}

/**
 * $1 query vector, $2 tenant, $3 limit, $4.. filter params. The collection id is a UUID from our own
 * table, inlined so the planner prunes to the collection's partition at plan time. Approximate search
 * orders by the expression the HNSW index is built on; exact search by the plain distance, which no
 * index matches, so it scans. The outer ORDER BY restores exact order after relaxed iterative scans.
 */
export function searchSql(
  c: Pick<CollectionRow, 'id' | 'dimension' | 'metric' | 'index_kind'>,
  mode: 'exact' | 'approximate',
  filterSql: string,
  includeValues: boolean,
  includeMetadata: boolean,
): string {
  const op = DISTANCE_OPERATOR[c.metric];
  const distance = `(embedding ${op} $1::vector)`;
  const type = c.index_kind === 'hnsw_halfvec' ? 'halfvec' : 'vector';
  const orderBy =
    mode === 'approximate'
      ? `embedding::${type}(${c.dimension}) ${op} $1::${type}(${c.dimension})`
      : distance;
  const where = `tenant_id = $2 AND collection_id = '${c.id}'${filterSql === 'TRUE' ? '' : ` AND ${filterSql}`}`;
  return `SELECT id, distance${includeValues ? ', embedding::real[] AS values' : ''}${includeMetadata ? ', metadata' : ''}
    FROM (SELECT id, embedding, metadata, ${distance} AS distance FROM vectors WHERE ${where} ORDER BY ${orderBy} LIMIT $3) s
    ORDER BY distance, id`;
}

/** Ids in fetch and delete follow the upsert rules, so none can break the query (NUL, length). */
function assertIds(ids: readonly string[]): void {
  for (let i = 0; i < ids.length; i++) {
    const problem = checkId(ids[i], `ids[${i}]`);
    if (problem) throw problemToError(problem);
  }
}

function attempt<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

function toScore(metric: 'cosine' | 'l2' | 'dot', distance: number): number {
  if (metric === 'cosine') return 1 - distance;
  if (metric === 'dot') return -distance;
  return distance;
}

function filterViolation(detail: string) {
  return vectorsError(VectorsErrorCode.FilterViolation, detail);
}

/**
 * The caller's filter ANDed with the key's enforced one. The caller's is compiled alone first, so
 * its errors name paths in what the caller sent; the enforced filter sits in its own $and branch
 * and no key of the caller's can replace it.
 */
function compileScoped(
  userFilter: Record<string, unknown> | undefined,
  scope: AccessScope,
  paramOffset: number,
): { sql: string; params: unknown[] } {
  const own = compile(userFilter ?? {}, paramOffset);
  if (!scope.filter) return own;
  return compileFilter(andFilters(scope.filter, userFilter ?? {}), {
    column: 'metadata',
    paramOffset,
  });
}

function compile(filter: unknown, paramOffset: number): { sql: string; params: unknown[] } {
  try {
    return compileFilter(filter, { column: 'metadata', paramOffset });
  } catch (err) {
    if (err instanceof FilterError) {
      throw vectorsError(VectorsErrorCode.InvalidFilter, err.message, {
        errors: [{ path: `filter.${err.path}`, message: err.message }],
      });
    }
    throw err;
  }
}

function problemToError(p: VectorProblem) {
  const errors = [{ path: p.path, message: describe(p) }];
  switch (p.kind) {
    case 'dimension':
      return vectorsError(
        VectorsErrorCode.DimensionMismatch,
        `${p.path} has ${p.actual} values; the collection has ${p.expected} dimensions.`,
        {
          expected: p.expected,
          actual: p.actual,
          errors,
        },
      );
    case 'value':
      return vectorsError(
        VectorsErrorCode.InvalidVector,
        `${p.path} must be a finite number within the 32-bit float range.`,
        { errors },
      );
    case 'zero':
      return vectorsError(
        VectorsErrorCode.ZeroVector,
        `${p.path} is all zeros, which has no cosine similarity.`,
        { errors },
      );
    case 'id':
      return vectorsError(VectorsErrorCode.InvalidVectorId, `${p.path} ${p.message}.`, { errors });
    case 'duplicate':
      return vectorsError(
        VectorsErrorCode.DuplicateVectorId,
        `${p.path}: "${p.id}" appears more than once in the batch.`,
        { errors },
      );
    case 'metadata':
      return vectorsError(VectorsErrorCode.InvalidMetadata, `${p.path} ${p.message}.`, { errors });
    case 'too_many':
      return vectorsError(
        VectorsErrorCode.BatchTooLarge,
        `${p.path} holds ${p.count} items; at most ${p.limit} per call.`,
        {
          errors,
          limit: p.limit,
        },
      );
    case 'empty':
      return vectorsError(VectorsErrorCode.EmptyBatch, `${p.path} is empty.`, { errors });
    case 'shape':
      return vectorsError(VectorsErrorCode.InvalidVector, `${p.path} ${p.message}.`, { errors });
  }
}

function describe(p: VectorProblem): string {
  switch (p.kind) {
    case 'dimension':
      return `expected ${p.expected} values, got ${p.actual}`;
    case 'value':
      return 'must be a finite 32-bit float';
    case 'zero':
      return 'must not be all zeros for a cosine collection';
    case 'duplicate':
      return `duplicate id "${p.id}"`;
    case 'too_many':
      return `at most ${p.limit} items`;
    case 'empty':
      return 'must not be empty';
    default:
      return p.message;
  }
}
