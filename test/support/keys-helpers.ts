import type { Client, QueryResultRow } from 'pg';
import type { HttpResponse } from './harness';

/** Helpers shared by the keys and tenants suites (owned by them; harness.ts stays untouched). */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Asserts an RFC 9457 problem document: status, stable code, the content type and every member the
 * conventions promise (type, title, status, detail, code, requestId).
 */
export function expectProblem(res: HttpResponse, status: number, code: string): void {
  const summary = `${res.status} ${JSON.stringify(res.body)}`;
  expect({ status: res.status, code: res.body?.code, summary }).toEqual({ status, code, summary });
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toEqual(
    expect.objectContaining({
      type: expect.stringContaining(code),
      title: expect.any(String),
      status,
      detail: expect.any(String),
      code,
      requestId: expect.any(String),
    }),
  );
}

/**
 * Reads as the owner role (the one migrations run as). Row-level security is FORCED, so even the
 * owner sees a tenant's rows only with app.tenant_id set to it: set it, or the query proves nothing.
 */
export async function asTenantOwner<R extends QueryResultRow = Record<string, any>>(
  owner: Client,
  tenantId: string,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  await owner.query('BEGIN');
  try {
    await owner.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
    const res = await owner.query<R>(sql, params);
    await owner.query('COMMIT');
    return res.rows;
  } catch (err) {
    await owner.query('ROLLBACK');
    throw err;
  }
}

export interface OutboxEvent {
  type: string;
  data: Record<string, unknown>;
}

/** The tenant's outbox, oldest first. */
export function outboxEvents(owner: Client, tenantId: string): Promise<OutboxEvent[]> {
  return asTenantOwner<OutboxEvent>(
    owner,
    tenantId,
    `SELECT type, data FROM outbox WHERE tenant_id = $1 ORDER BY occurred_at, id`,
    [tenantId],
  );
}

/** Random lowercase suffix for slugs and names. */
export function uniq(): string {
  return Math.random().toString(36).slice(2, 10);
}
