import { Injectable } from '@nestjs/common';
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
  constructor(private readonly pool: Pool) {}

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
   * The simple query protocol takes no bind parameters, so each statement must be ONE statement with
   * every value inlined, and only values that are safe by construction: UUIDs, integers and numbers
   * the caller formatted, names it validated, or text quoted with `sqlLiteral`. No statement may
   * control the transaction (BEGIN, COMMIT, ...). Anything carrying user text in bulk (metadata
   * filters) keeps using `tenant()` with parameters.
   */
  async tenantRead<R extends QueryResultRow = Record<string, unknown>>(
    tenantId: string,
    statements: readonly string[],
    options: TenantTxOptions = {},
  ): Promise<R[][]> {
    return (await this.tenantReadWith<R>(tenantId, '', statements, options)).rows;
  }

  /**
   * `tenantRead` with extra columns in the set-up statement itself (one statement fewer for the
   * server to parse and plan), returned as `setup`. They are evaluated after the role and tenant are
   * set in that statement, so row-level security already filters what they read; they must read
   * tables only by explicit ids, and a subquery that sees nothing must be a safe answer (the caller
   * falls back), never a wrong one.
   */
  async tenantReadWith<R extends QueryResultRow = Record<string, unknown>>(
    tenantId: string,
    setupColumns: string,
    statements: readonly string[],
    options: TenantTxOptions = {},
  ): Promise<{ setup: Record<string, unknown>; rows: R[][] }> {
    if (!isUuid(tenantId)) throw tenancyError(TenancyErrorCode.TenantNotFound, 'No such tenant.');
    const require = options.require ?? 'active';
    // The status is read even for 'any', as the caller may want it; only the check is skipped.
    const sql =
      `${tenantSetupSql(tenantId, 'exists', true)}` +
      `${setupColumns ? `, ${setupColumns}` : ''}; ${statements.join('; ')}`;
    const client = await this.pool.connect();
    let unusable: Error | undefined;
    try {
      // pg returns one result for a one-statement message, an array otherwise.
      const results = (await client.query(sql)) as unknown as
        QueryResult<R> | Array<QueryResult<R>>;
      const all = Array.isArray(results) ? results : [results];
      if (all.length !== statements.length + 1) {
        throw new Error('tenantRead: each statement must be exactly one SQL statement');
      }
      const setup = all[0].rows[0] as Record<string, unknown>;
      if (require !== 'any') assertTenantStatus(setup.status as string | null | undefined, require);
      return { setup, rows: all.slice(1).map((r) => r.rows) };
    } catch (err) {
      // A failed statement ends the implicit transaction (rolled back, the rest of the message
      // skipped). Whatever failed, the connection must not go back to the pool inside a transaction:
      // ROLLBACK (a no-op with a warning when none is open), or destroy it if even that fails.
      await client.query('ROLLBACK').catch((rollbackErr: Error) => {
        unusable = rollbackErr;
      });
      throw err;
    } finally {
      client.release(unusable);
    }
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

/**
 * The statement that enters a tenant: the app role and app.tenant_id, both transaction-local, a
 * read-only transaction when `readOnly`, and (unless `require` is 'any') the tenant's status as
 * column `status`: one call of quiver_enter_tenant(id, read_only) (migration EnterTenantInOneCall),
 * a plpgsql function whose plan each connection caches. The id is inlined, so it must be a UUID.
 * Exported for the bench's raw SQL baselines, which must send what the API sends.
 */
export function tenantSetupSql(
  tenantId: string,
  require: TenantRequirement,
  readOnly = false,
): string {
  if (!isUuid(tenantId)) throw new Error('tenantSetupSql: the tenant id must be a UUID');
  if (require !== 'any') return `SELECT quiver_enter_tenant('${tenantId}', ${readOnly}) AS status`;
  const readOnlySql = readOnly ? `, set_config('transaction_read_only', 'on', true)` : '';
  return `SELECT set_config('role', '${APP_ROLE}', true), set_config('app.tenant_id', '${tenantId}', true)${readOnlySql}`;
}

function assertTenantStatus(status: string | null | undefined, require: TenantRequirement): void {
  if (!status || status === 'pending_deletion') {
    throw tenancyError(TenancyErrorCode.TenantNotFound, 'No such tenant.');
  }
  if (require === 'active' && status === 'suspended') {
    throw tenancyError(TenancyErrorCode.TenantSuspended, 'This tenant is suspended.');
  }
}

/** A string as a quoted SQL literal (pg's escapeLiteral), for `Db.tenantRead` statements. */
export { escapeLiteral as sqlLiteral } from 'pg';
