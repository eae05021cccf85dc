import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { escapeLiteral } from 'pg';
import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import { isUuid } from '@app/common/uuid';
import { TenancyErrorCode, tenancyError } from '@app/tenancy/tenancy.errors';

/** The role every request and job runs as. Migrations grant it what it needs; it owns nothing. */
export const APP_ROLE = 'quiver_app';

/** A transaction handle. Only Db hands these out, always with the role and tenant already set. */
export interface Tx {
  query<R extends QueryResultRow = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<R[]>;
  /** Row count of an UPDATE/DELETE/INSERT. */
  execute(sql: string, params?: unknown[]): Promise<number>;
}

export type TenantRequirement = 'active' | 'exists' | 'any';

export interface TenantTxOptions {
  /**
   * 'active' (the data plane): suspended -> 403, pending deletion or gone -> 404.
   * 'exists': the tenant row must exist (tenant admin work on a suspended tenant).
   * 'any': no check (platform admin and jobs that handle deleted tenants).
   */
  require?: TenantRequirement;
}

class PgTx implements Tx {
  constructor(private readonly client: PoolClient) {}

  async query<R extends QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]> {
    const res = await this.client.query<R>(sql, params);
    return res.rows;
  }

  async execute(sql: string, params?: unknown[]): Promise<number> {
    const res = await this.client.query(sql, params);
    return res.rowCount ?? 0;
  }
}

/**
 * The only way application code reaches the database. Each call is one transaction that starts by
 * switching to the app role and setting app.tenant_id with transaction-local set_config, in the same
 * round trip as BEGIN, so a pooled connection never carries a tenant (or a role) to its next user and
 * row-level security does the isolation even when a query forgets its tenant filter.
 */
@Injectable()
export class Db {
  private static readonly logger = new Logger('Db');
  /** Statements prepared on each pooled connection (by this process), by name. */
  private readonly prepared = new WeakMap<PoolClient, Set<string>>();
  private preparing: boolean;

  constructor(
    private readonly pool: Pool,
    options: DbOptions = {},
  ) {
    this.preparing = options.preparedStatements ?? false;
  }

  /** A tenant-scoped transaction. The tenant's status is read in the same round trip as BEGIN. */
  async tenant<T>(
    tenantId: string,
    fn: (tx: Tx) => Promise<T>,
    options: TenantTxOptions = {},
  ): Promise<T> {
    // The id is inlined (a multi-statement simple query takes no parameters), so it must be a UUID.
    if (!isUuid(tenantId)) throw tenancyError(TenancyErrorCode.TenantNotFound, 'No such tenant.');
    const require = options.require ?? 'active';
    const setup = `BEGIN; ${tenantSetupSql(tenantId, require)}`;
    return this.run(setup, fn, (results) => {
      if (require === 'any') return;
      const status = (results as Array<{ rows: Array<{ status: string | null }> }>)[1]?.rows[0]
        ?.status;
      assertTenantStatus(status, require);
    });
  }

  /**
   * A read-only tenant transaction in ONE round trip and as few statements as possible: the
   * role/tenant/status statement of `tenant()`, which also makes the transaction read-only, then the
   * given statements, travel as one simple-query message. PostgreSQL runs such a message as one
   * implicit transaction, so the transaction-local settings last exactly as long as the message and
   * no BEGIN or COMMIT is needed (`tenant()` needs at least three round trips for one query: set-up,
   * query, COMMIT). Returns each statement's rows. The tenant's status is checked when the answer
   * arrives; on a suspended or deleted tenant the rows are dropped and the usual error thrown
   * (read-only: nothing was changed).
   *
   * The simple query protocol takes no bind parameters, so each statement must be ONE statement.
   * A `SqlStatement` (`statement()`: text with $1..$n and its values) is prepared once per pooled
   * connection and then sent as `EXECUTE name(values)`, each value a quoted literal (composeRead):
   * PostgreSQL parses and plans it once per connection instead of once per request. A plain string
   * is sent as it is, parsed and planned every time; it must inline only values that are safe by
   * construction: UUIDs, integers and numbers the caller formatted, names it validated, or text
   * quoted with `paramLiteral`. No statement may control the transaction (BEGIN, COMMIT, ...).
   * Anything carrying user text in bulk (metadata filters) keeps using `tenant()` with parameters.
   */
  async tenantRead<R extends QueryResultRow = Record<string, unknown>>(
    tenantId: string,
    statements: readonly ReadStatement[],
    options: TenantTxOptions = {},
  ): Promise<R[][]> {
    return (await this.tenantReadWith<R>(tenantId, null, statements, options)).rows;
  }

  /**
   * `tenantRead` with extra columns in the set-up statement itself (one statement fewer for the
   * server to parse and plan), returned as `setup`. They are evaluated after the role and tenant are
   * set in that statement, so row-level security already filters what they read; they must read
   * tables only by explicit ids, and a subquery that sees nothing must be a safe answer (the caller
   * falls back), never a wrong one. Their $1..$n are numbered on their own; the set-up is prepared
   * like the statements.
   */
  async tenantReadWith<R extends QueryResultRow = Record<string, unknown>>(
    tenantId: string,
    setupColumns: SqlStatement | null,
    statements: readonly ReadStatement[],
    options: TenantTxOptions = {},
  ): Promise<{ setup: Record<string, unknown>; rows: R[][] }> {
    if (!isUuid(tenantId)) throw tenancyError(TenancyErrorCode.TenantNotFound, 'No such tenant.');
    const require = options.require ?? 'active';
    // The status is read even for 'any', as the caller may want it; only the check is skipped.
    const setup = setupColumns
      ? statement(
          `${ENTER_TENANT_READ}, ${shiftParams(setupColumns.text, 1)}`,
          tenantId,
          ...setupColumns.values,
        )
      : statement(ENTER_TENANT_READ, tenantId);
    const parts = [setup, ...statements];
    const all = await this.readMessage<R>(parts);
    const first = all[0][0] as Record<string, unknown>;
    if (require !== 'any') assertTenantStatus(first.status as string | null | undefined, require);
    return { setup: first, rows: all.slice(1) };
  }

  /**
   * Sends `parts` as one simple-query message on a pooled connection and returns each part's rows.
   * Prepared statements are remembered per connection; should the server not have the ones this
   * process thinks it prepared, or have them already (a pooler in transaction mode or one that
   * resets sessions between clients), preparation is switched off for the process, a warning
   * logged, and the read sent once more with every statement inline.
   */
  private async readMessage<R extends QueryResultRow>(
    parts: readonly ReadStatement[],
  ): Promise<R[][]> {
    const client = await this.pool.connect();
    let unusable: Error | undefined;
    const known = this.preparing ? this.preparedOn(client) : null;
    const message = composeRead(parts, known);
    try {
      // pg returns one result for a one-statement message, an array otherwise.
      const results = (await client.query(message.sql)) as unknown as
        QueryResult<R> | Array<QueryResult<R>>;
      const all = Array.isArray(results) ? results : [results];
      if (all.length !== message.statements) {
        throw new Error('tenantRead: each statement must be exactly one SQL statement');
      }
      for (const name of message.prepares) known?.add(name);
      return message.results.map((i) => all[i].rows);
    } catch (err) {
      // A failed statement ends the implicit transaction (rolled back, the rest of the message
      // skipped). Whatever failed, the connection must not go back to the pool inside a transaction:
      // ROLLBACK (a no-op with a warning when none is open), or destroy it if even that fails.
      await client.query('ROLLBACK').catch((rollbackErr: Error) => {
        unusable = rollbackErr;
      });
      // PREPARE is not undone by a rollback: the ones sent before the failure stay. Ask the server.
      if (!unusable && known && message.prepares.length > 0) {
        await this.resync(client, known).catch((syncErr: Error) => {
          unusable = syncErr;
        });
      }
      if (!(known && message.executes > 0 && isPreparedStatementMismatch(err))) throw err;
      this.preparing = false;
      Db.logger.warn(
        `PostgreSQL did not keep this process's prepared statements (${(err as Error).message}), ` +
          'as behind a pooler in transaction mode: reads now send every statement inline. Set ' +
          'DATABASE_PREPARED_STATEMENTS=false to start that way.',
      );
    } finally {
      client.release(unusable);
    }
    // Only after a prepared-statement mismatch: once more, inline.
    return this.readMessage(parts);
  }

  private preparedOn(client: PoolClient): Set<string> {
    let names = this.prepared.get(client);
    if (!names) {
      names = new Set();
      this.prepared.set(client, names);
    }
    return names;
  }

  private async resync(client: PoolClient, known: Set<string>): Promise<void> {
    const { rows } = await client.query<{ name: string }>(
      `SELECT name FROM pg_prepared_statements WHERE name LIKE '${PREPARED_PREFIX}%'`,
    );
    known.clear();
    for (const r of rows) known.add(r.name);
  }

  /**
   * Statements of many tenants in ONE transaction and ONE round trip, each run under its own tenant:
   * `set_config('app.tenant_id', <its tenant>, true)` precedes every statement, so row-level security
   * confines each to its tenant exactly as `tenant()` would. For batched bookkeeping (key usage), not
   * for request work; no tenant status check. The same inlining rules as `tenantRead` apply (no bind
   * parameters in a simple-query message). All or nothing.
   */
  async perTenant(work: ReadonlyArray<{ tenantId: string; sql: string }>): Promise<void> {
    if (work.length === 0) return;
    const parts = [`BEGIN; SELECT set_config('role', '${APP_ROLE}', true)`];
    for (const { tenantId, sql } of work) {
      if (!isUuid(tenantId)) throw new Error('perTenant: tenant ids are UUIDs');
      parts.push(`SELECT set_config('app.tenant_id', '${tenantId}', true)`, sql);
    }
    parts.push('COMMIT');
    const client = await this.pool.connect();
    let unusable: Error | undefined;
    try {
      await client.query(parts.join('; '));
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: Error) => {
        unusable = rollbackErr;
      });
      throw err;
    } finally {
      client.release(unusable);
    }
  }

  /**
   * A platform transaction: app role, no tenant. Tenant-owned tables show nothing; the tenants table
   * shows every tenant (app.platform). Only platform admin endpoints and platform jobs use it.
   */
  async platform<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.run(
      `BEGIN; SELECT set_config('role', '${APP_ROLE}', true), set_config('app.platform', 'on', true)`,
      fn,
    );
  }

  /**
   * Resolves an API key by its hash before the tenant is known. The row-level policy on api_keys lets
   * a transaction see exactly the key whose hash it already holds, and nothing else.
   */
  async keyLookup<T>(hashHex: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (!/^[0-9a-f]{64}$/.test(hashHex)) throw new Error('keyLookup expects a hex SHA-256');
    return this.run(
      `BEGIN; SELECT set_config('role', '${APP_ROLE}', true), set_config('app.key_hash', '${hashHex}', true)`,
      fn,
    );
  }

  private async run<T>(
    setup: string,
    fn: (tx: Tx) => Promise<T>,
    check?: (results: unknown) => void,
  ): Promise<T> {
    const client = await this.pool.connect();
    let unusable: Error | undefined;
    try {
      const results = await client.query(setup);
      check?.(results);
      const out = await fn(new PgTx(client));
      await client.query('COMMIT');
      return out;
    } catch (err) {
      // ROLLBACK after a failed COMMIT only warns; if ROLLBACK itself fails the connection is in an
      // unknown state and is destroyed instead of going back to the pool.
      await client.query('ROLLBACK').catch((rollbackErr: Error) => {
        unusable = rollbackErr;
      });
      throw err;
    } finally {
      client.release(unusable);
    }
  }
}

export interface DbOptions {
  /**
   * Prepare the statements of one-message reads once per pooled connection (DATABASE_PREPARED_STATEMENTS).
   * Off behind a pooler that does not keep a session per client (PgBouncer in transaction mode) and
   * with the embedded database, whose one backend outlives the pool's connections.
   */
  preparedStatements?: boolean;
}

/** A parameter value of a `SqlStatement`, sent as a quoted literal the parameter's type reads. */
export type SqlParam = string | number | boolean | null | readonly string[];

/** One SQL statement with $1..$n placeholders and their values (see `Db.tenantRead`). */
export interface SqlStatement {
  readonly text: string;
  readonly values: readonly SqlParam[];
}

/** A statement of a one-message read: a `SqlStatement`, or text with every value inlined. */
export type ReadStatement = string | SqlStatement;

export function statement(text: string, ...values: SqlParam[]): SqlStatement {
  return { text, values };
}

/** Names of the statements Db prepares: a prefix, then a digest of the text. */
export const PREPARED_PREFIX = 'quiver_q_';

/**
 * Statements one connection may have prepared; past it the rest run inline. Statements are fixed
 * texts from the code (a few dozen), so only a text that wrongly varies per request gets near it.
 */
export const MAX_PREPARED_PER_CONNECTION = 200;

/** Sets the app role, the tenant and a read-only transaction, and answers the tenant's status. */
const ENTER_TENANT_READ = 'SELECT quiver_enter_tenant($1::uuid, true) AS status';

/** A value as a quoted SQL literal; PostgreSQL reads it with the input function of the parameter's type. */
export function paramLiteral(v: SqlParam): string {
  if (v === null) return 'NULL';
  if (typeof v === 'boolean') return v ? "'true'" : "'false'";
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('SQL parameters must be finite numbers');
    return `'${v}'`;
  }
  if (typeof v === 'string') return quoteText(v);
  // An array literal: every element double-quoted, with its backslashes and quotes escaped.
  return quoteText(`{${v.map((e) => `"${e.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`);
}

/**
 * pg's escapeLiteral, which builds its answer a character at a time: a search's 1,400-character
 * query vector took 3% of the api's CPU in it. Text without a quote or a backslash, nearly all of
 * it, needs only the quotes around it, which is what escapeLiteral returns for such text.
 */
function quoteText(text: string): string {
  return /['\\]/.test(text) ? escapeLiteral(text) : `'${text}'`;
}

/** The statement's text with each $n replaced by the literal of its value. */
export function inlineStatement(s: SqlStatement): string {
  return s.text.replace(/\$([0-9]+)/g, (_, n: string) => {
    const i = Number(n) - 1;
    if (i < 0 || i >= s.values.length) throw new Error(`no value for placeholder $${n}`);
    return paramLiteral(s.values[i]);
  });
}

/** Renumbers $n placeholders to $(n + by). */
function shiftParams(text: string, by: number): string {
  return text.replace(/\$([0-9]+)/g, (_, n: string) => `$${Number(n) + by}`);
}

/** Names by text, so a hot read does not hash its texts on every request. */
const preparedNames = new Map<string, string>();

function preparedName(text: string): string {
  let name = preparedNames.get(text);
  if (name === undefined) {
    name = PREPARED_PREFIX + createHash('sha256').update(text).digest('hex').slice(0, 32);
    // The texts are the code's own few; a text that wrongly varied must not grow this for ever.
    if (preparedNames.size >= 1000) preparedNames.clear();
    preparedNames.set(text, name);
  }
  return name;
}

export interface ReadMessage {
  sql: string;
  /** Statements in the message (each gives one result). */
  statements: number;
  /** For each part, the index of its result. */
  results: number[];
  /** Statements the message prepares (PREPARE is not transactional: they stay if it fails later). */
  prepares: string[];
  /** EXECUTEs of statements prepared earlier or in this message. */
  executes: number;
}

/**
 * One simple-query message for `parts`. With `known` (the names prepared on the connection) each
 * `SqlStatement` becomes `EXECUTE name(literals)`, preceded by its `PREPARE` the first time; without
 * it, and past MAX_PREPARED_PER_CONNECTION, its values are inlined. Strings go as they are.
 */
export function composeRead(
  parts: readonly ReadStatement[],
  known: ReadonlySet<string> | null,
): ReadMessage {
  const out: string[] = [];
  const results: number[] = [];
  const prepares: string[] = [];
  let executes = 0;
  for (const part of parts) {
    if (typeof part === 'string') {
      results.push(out.push(part) - 1);
      continue;
    }
    const name = preparedName(part.text);
    const have = known?.has(name) || prepares.includes(name);
    if (!known || (!have && known.size + prepares.length >= MAX_PREPARED_PER_CONNECTION)) {
      results.push(out.push(inlineStatement(part)) - 1);
      continue;
    }
    if (!have) {
      out.push(`PREPARE ${name} AS ${part.text}`);
      prepares.push(name);
    }
    const args = part.values.length ? `(${part.values.map(paramLiteral).join(', ')})` : '';
    results.push(out.push(`EXECUTE ${name}${args}`) - 1);
    executes++;
  }
  return { sql: out.join('; '), statements: out.length, results, prepares, executes };
}

/** 26000: no such prepared statement; 42P05: one of that name exists already. */
function isPreparedStatementMismatch(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '26000' || code === '42P05';
}

/**
 * The statement that enters a tenant for a read-write transaction (`Db.tenant`): the app role and
 * app.tenant_id, both transaction-local, and (unless `require` is 'any') the tenant's status as
 * column `status`: one call of quiver_enter_tenant(id, false) (migration EnterTenantInOneCall), a
 * plpgsql function whose plan each connection caches. The one-message reads use its prepared
 * read-only twin, ENTER_TENANT_READ. The id is inlined, so it must be a UUID. Exported for the
 * bench's raw SQL baselines, which must send what the API sends.
 */
export function tenantSetupSql(tenantId: string, require: TenantRequirement): string {
  if (!isUuid(tenantId)) throw new Error('tenantSetupSql: the tenant id must be a UUID');
  if (require !== 'any') return `SELECT quiver_enter_tenant('${tenantId}', false) AS status`;
  return `SELECT set_config('role', '${APP_ROLE}', true), set_config('app.tenant_id', '${tenantId}', true)`;
}

function assertTenantStatus(status: string | null | undefined, require: TenantRequirement): void {
  if (!status || status === 'pending_deletion') {
    throw tenancyError(TenancyErrorCode.TenantNotFound, 'No such tenant.');
  }
  if (require === 'active' && status === 'suspended') {
    throw tenancyError(TenancyErrorCode.TenantSuspended, 'This tenant is suspended.');
  }
}
