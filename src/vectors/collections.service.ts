import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '@app/config/app-config';
import { AccessScope, UNRESTRICTED } from '@app/common/context/principal';
import { Db, statement, Tx } from '@app/database/db';
import { lockPartitionDdl } from '@app/database/partition-ddl';
import { OutboxService } from '@app/events/outbox.service';
import { QuotasService } from '@app/quotas/quotas.service';
import type { IndexKind, Metric } from './collection.entity';
import {
  COLLECTION_NAME_RE,
  CollectionIndexView,
  CollectionView,
  CreateCollectionDto,
} from './dto/collection.dto';
import { VectorsErrorCode, vectorsError } from './vectors.errors';

/** pgvector's HNSW limits: 2,000 dimensions as vector, 4,000 as halfvec. */
export const HNSW_VECTOR_MAX_DIM = 2000;
export const HNSW_HALFVEC_MAX_DIM = 4000;

export interface CollectionRow {
  tenant_id: string;
  id: string;
  name: string;
  dimension: number;
  metric: Metric;
  index_kind: IndexKind;
  created_at: Date;
}

const COLUMNS = 'tenant_id, id, name, dimension, metric, index_kind, created_at';
/** The columns of a CollectionRow, for queries built elsewhere (one-trip-search.ts). */
export const COLLECTION_ROW_COLUMNS = COLUMNS;

export function indexKindFor(dimension: number): IndexKind {
  if (dimension <= HNSW_VECTOR_MAX_DIM) return 'hnsw';
  if (dimension <= HNSW_HALFVEC_MAX_DIM) return 'hnsw_halfvec';
  return 'none';
}

@Injectable()
export class CollectionsService {
  constructor(
    private readonly db: Db,
    private readonly outbox: OutboxService,
    private readonly config: AppConfig,
    private readonly quotas: QuotasService,
  ) {}

  async create(
    tenantId: string,
    dto: CreateCollectionDto,
    scope: AccessScope = UNRESTRICTED,
  ): Promise<CollectionView> {
    assertCollectionPermitted(scope, dto.name);
    const metric = dto.metric ?? 'cosine';
    const indexKind = indexKindFor(dto.dimension);
    const row = await this.quotas.write(tenantId, async (tx) => {
      await lockPartitionDdl(tx);
      await this.quotas.assertDimension(tx, tenantId, dto.dimension);
      const [created] = await tx
        .query<CollectionRow>(
          `INSERT INTO collections (tenant_id, id, name, dimension, metric, index_kind)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
          [tenantId, randomUUID(), dto.name, dto.dimension, metric, indexKind],
        )
        .catch((err: { code?: string }) => {
          if (err.code === '23505')
            throw vectorsError(
              VectorsErrorCode.CollectionExists,
              `A collection named "${dto.name}" exists.`,
            );
          throw err;
        });
      await tx.query(`SELECT quiver_provision_collection($1, $2, $3)`, [
        created.id,
        this.config.env.HNSW_M,
        this.config.env.HNSW_EF_CONSTRUCTION,
      ]);
      // Counters last: a refusal rolls back the row and the partition (DDL is transactional).
      await this.quotas.add(tx, tenantId, 'collections', 1);
      await this.quotas.enforce(tx, tenantId, ['collections']);
      await this.outbox.record(tx, tenantId, 'collection.created', {
        collectionId: created.id,
        name: created.name,
        dimension: created.dimension,
        metric: created.metric,
        index: created.index_kind,
      });
      return created;
    });
    return toView(row);
  }

  /** One round trip (Db.tenantRead): the data plane's most frequent admin read. */
  async list(tenantId: string, scope: AccessScope = UNRESTRICTED): Promise<CollectionView[]> {
    const [rows] = await this.db.tenantRead<CollectionRow>(tenantId, [
      scope.collections
        ? statement(
            `SELECT ${COLUMNS} FROM collections WHERE name = ANY($1::text[]) ORDER BY name`,
            scope.collections,
          )
        : statement(`SELECT ${COLUMNS} FROM collections ORDER BY name`),
    ]);
    return rows.map((r) => toView(r));
  }

  async get(
    tenantId: string,
    name: string,
    scope: AccessScope = UNRESTRICTED,
  ): Promise<CollectionView> {
    assertCollectionPermitted(scope, name);
    return this.db.tenant(tenantId, async (tx) => {
      const c = await this.resolve(tx, name);
      const [{ count }] = await tx.query<{ count: string }>(
        `SELECT count(*) FROM vectors WHERE tenant_id = $1 AND collection_id = '${c.id}'`,
        [tenantId],
      );
      return toView(c, Number(count));
    });
  }

  /** Deletes the collection and, with its partition, all its vectors, in one transaction. */
  async delete(tenantId: string, name: string, scope: AccessScope = UNRESTRICTED): Promise<void> {
    assertCollectionPermitted(scope, name);
    await this.db.tenant(tenantId, async (tx) => {
      await lockPartitionDdl(tx);
      // The row lock waits for the collection's writers (they hold FOR KEY SHARE) and keeps new ones
      // out, so the sums read next are what the partition holds when it is dropped. Dropping it fires
      // no delete triggers: the counters are moved here, last, in the lock order (collections,
      // storedBytes, vectors), so this transaction holds no counter while it waits for the partition.
      const c = await this.resolve(tx, name, 'update');
      const [gone] = await tx.query<{ n: string; bytes: string }>(
        `SELECT count(*)::text AS n, COALESCE(sum(quiver_vector_bytes(embedding, metadata)), 0)::text AS bytes
           FROM vectors WHERE tenant_id = $1 AND collection_id = '${c.id}'`,
        [tenantId],
      );
      await tx.query(`SELECT quiver_drop_collection_partition($1)`, [c.id]);
      await tx.query(
        `SELECT quiver_usage_add($1, 'collections', -1), quiver_usage_add($1, 'storedBytes', -$2::bigint),
                quiver_usage_add($1, 'vectors', -$3::bigint)`,
        [tenantId, gone.bytes, gone.n],
      );
      await tx.execute(`DELETE FROM collections WHERE id = $1`, [c.id]);
      await this.outbox.record(tx, tenantId, 'collection.deleted', {
        collectionId: c.id,
        name: c.name,
      });
    });
  }

  /**
   * Finds a collection of the current tenant by name (row-level security scopes the lookup).
   * Writers of its vectors lock it 'key share', so deleting it ('update') waits for them.
   */
  resolve(
    tx: Tx,
    name: string,
    lock: false | 'key share' | 'update' = false,
  ): Promise<CollectionRow> {
    return this.findByName<CollectionRow>(
      tx,
      `SELECT ${COLUMNS} FROM collections WHERE name = $1${lock ? ` FOR ${lock.toUpperCase()}` : ''}`,
      name,
    );
  }

  /**
   * Finds the collection and, in the same statement, sets the HNSW scan parameters for the rest of
   * the transaction: ef_search by quiver_search_setup (the request's, else the tenant's
   * settings.search.efSearch, else the server default, never below topK, at most 1,000: the rule the
   * one-trip search uses too), iterative scans when filtered. Exact searches ignore them.
   */
  resolveForSearch(
    tx: Tx,
    name: string,
    hnsw: { efSearch?: number; topK: number; filtered: boolean },
  ): Promise<CollectionRow> {
    return this.findByName<CollectionRow>(
      tx,
      // NULL: the row is the collection, found just now; its presence needs no second look-up.
      `SELECT ${COLUMNS}, quiver_search_setup(NULL, $2::int, $3::int, $4::int) AS present
         ${hnsw.filtered ? `, set_config('hnsw.iterative_scan', 'relaxed_order', true) AS iterative_scan` : ''}
       FROM collections c WHERE name = $1`,
      name,
      [hnsw.efSearch ?? null, this.config.env.HNSW_EF_SEARCH, hnsw.topK],
    );
  }

  private async findByName<R extends CollectionRow>(
    tx: Tx,
    sql: string,
    name: string,
    extraParams: unknown[] = [],
  ): Promise<R> {
    // A name no collection could have (NUL, slashes, too long) is simply not found, without a query.
    const [row] = COLLECTION_NAME_RE.test(name)
      ? await tx.query<R>(sql, [name, ...extraParams])
      : [];
    if (!row) {
      throw vectorsError(
        VectorsErrorCode.CollectionNotFound,
        `No collection named "${truncate(name)}".`,
      );
    }
    return row;
  }
}

/** A scoped key reaches only its collections; checked before any lookup, so it leaks nothing. */
export function assertCollectionPermitted(scope: AccessScope, name: string): void {
  if (scope.collections && !scope.collections.includes(name)) {
    throw vectorsError(
      VectorsErrorCode.CollectionNotPermitted,
      'This API key is not allowed to use this collection.',
    );
  }
}

function truncate(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}...` : s;
}

function indexView(kind: IndexKind): CollectionIndexView {
  switch (kind) {
    case 'hnsw':
      return { kind, approximateSearch: true };
    case 'hnsw_halfvec':
      return {
        kind,
        approximateSearch: true,
        note: 'Above 2,000 dimensions the HNSW index stores half-precision vectors; scores are computed at full precision.',
      };
    case 'none':
      return {
        kind,
        approximateSearch: false,
        note: "Exact search only: pgvector's HNSW index covers up to 2,000 dimensions (4,000 as halfvec).",
      };
  }
}

export function toView(row: CollectionRow, vectorCount?: number): CollectionView {
  return {
    id: row.id,
    name: row.name,
    dimension: row.dimension,
    metric: row.metric,
    index: indexView(row.index_kind),
    ...(vectorCount === undefined ? {} : { vectorCount }),
    createdAt: row.created_at.toISOString(),
  };
}
