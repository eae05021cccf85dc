import type { CollectionRow } from './collections.service';

interface Entry {
  row: CollectionRow;
  until: number;
}

/**
 * What a search needs to know of a collection (id, dimension, metric, index kind), remembered per
 * tenant and name so an unfiltered search can be one statement in one round trip. Collections never
 * change those fields; they are only deleted (and maybe re-created under the same name, with a new
 * id). So an entry is never trusted blindly: the search that uses it checks in the same transaction
 * that the id still exists, and falls back to a fresh lookup when it does not. That check is what
 * keeps every instance right; no cross-instance invalidation is needed.
 */
export class CollectionCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs = 300_000,
    private readonly maxEntries = 20_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(tenantId: string, name: string): CollectionRow | undefined {
    const key = `${tenantId}/${name}`;
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.until <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.row;
  }

  set(row: CollectionRow): void {
    const key = `${row.tenant_id}/${row.name}`;
    if (!this.entries.has(key) && this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { row, until: this.now() + this.ttlMs });
  }

  forget(tenantId: string, name: string): void {
    this.entries.delete(`${tenantId}/${name}`);
  }
}
