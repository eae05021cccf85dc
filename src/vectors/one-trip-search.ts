import { Injectable } from '@nestjs/common';
import { AppConfig } from '@app/config/app-config';
import { Db, type SqlStatement, inlineStatement, statement } from '@app/database/db';
import { isUuid } from '@app/common/uuid';
import { CollectionCache } from './collection-cache';
import { COLLECTION_ROW_COLUMNS, type CollectionRow } from './collections.service';
import { COLLECTION_NAME_RE } from './dto/collection.dto';
import { toVectorLiteral } from './vector-validation';

export interface SearchRow {
  id: string;
  distance: number;
  values?: number[];
  metadata?: Record<string, unknown>;
}

export interface OneTripQuery {
  /** searchSql() of an unfiltered search: $1 query vector, $2 tenant, $3 limit, nothing else. */
  sql: string;
  /** Already checked against the collection (finite numbers, right dimension). */
  vector: readonly number[];
  topK: number;
  efSearch?: number;
}

const NUMERIC_VECTOR = /^\[[0-9eE+\-.,]*\]$/;

function integer(n: number, what: string): number {
  if (!Number.isSafeInteger(n)) throw new Error(`${what} must be an integer`);
  return n;
}

/**
 * An unfiltered search in one message (Db.tenantReadWith): set-up columns setting the HNSW parameters
 * and checking that the remembered collection still exists (by id; if RLS hid it the answer is a
 * safe "gone", and the caller looks it up afresh), then the search itself. The set-up is a prepared
 * statement; the search is sent inline, planned for each request, so PostgreSQL prunes the vectors
 * table to the collection's partition while planning (a generic plan would cover, and lock, every
 * partition). Its values go in as quoted literals (inlineStatement), and are safe by construction
 * besides: UUIDs (checked), integers, and the query vector's finite numbers.
 */
export function oneTripStatements(
  tenantId: string,
  c: CollectionRow,
  q: OneTripQuery,
  defaultEfSearch: number,
): [SqlStatement, string] {
  if (!isUuid(tenantId) || !isUuid(c.id)) throw new Error('tenant and collection ids are UUIDs');
  const literal = toVectorLiteral(q.vector);
  if (!NUMERIC_VECTOR.test(literal)) throw new Error('the query vector must be numbers only');
  const topK = integer(q.topK, 'topK');
  // quiver_search_setup (migration SearchSetupFunction): sets hnsw.ef_search (the request's, else
  // the tenant's setting, else the default; at least topK, at most 1,000) and answers whether the
  // collection is still visible, with plans cached per connection.
  const setup = statement(
    'quiver_search_setup($1::uuid, $2::int, $3::int, $4::int) AS present',
    c.id,
    q.efSearch === undefined ? null : integer(q.efSearch, 'efSearch'),
    integer(defaultEfSearch, 'HNSW_EF_SEARCH'),
    topK,
  );
  const search = inlineStatement(statement(q.sql, literal, tenantId, topK));
  return [setup, search];
}

/**
 * Unfiltered search in one round trip for a collection this instance has resolved before (two the
 * first time: `lookup`, then the search): one
 * message carries the tenant set-up (role, tenant, status, read-only), the HNSW parameters with
 * an existence check of the remembered collection, and the search. The general path
 * (VectorsService: set-up, collection lookup, search, COMMIT: four round trips) serves filtered
 * searches, whose user-supplied values travel only as bind parameters, and fills the cache.
 */
@Injectable()
export class OneTripSearch {
  private readonly cache = new CollectionCache();

  constructor(
    private readonly db: Db,
    private readonly config: AppConfig,
  ) {}

  known(tenantId: string, name: string): CollectionRow | undefined {
    return this.cache.get(tenantId, name);
  }

  remember(row: CollectionRow): void {
    this.cache.set(row);
  }

  /**
   * Looks a collection up by name in one round trip (Db.tenantRead) and remembers it; undefined when
   * there is no such collection (the caller's general path then says so in the usual words).
   */
  async lookup(tenantId: string, name: string): Promise<CollectionRow | undefined> {
    if (!COLLECTION_NAME_RE.test(name)) return undefined;
    const [rows] = await this.db.tenantRead<CollectionRow>(tenantId, [
      statement(`SELECT ${COLLECTION_ROW_COLUMNS} FROM collections WHERE name = $1`, name),
    ]);
    const row = rows[0];
    if (row) this.cache.set(row);
    return row;
  }

  /** The rows, or undefined when the remembered collection is gone (then resolve it afresh). */
  async search(
    tenantId: string,
    c: CollectionRow,
    q: OneTripQuery,
  ): Promise<SearchRow[] | undefined> {
    const [setup, search] = oneTripStatements(tenantId, c, q, this.config.env.HNSW_EF_SEARCH);
    const { setup: check, rows } = await this.db.tenantReadWith(tenantId, setup, [search]);
    if (check.present !== true) {
      this.cache.forget(tenantId, c.name);
      return undefined;
    }
    return rows[0] as unknown as SearchRow[];
  }
}
