/**
 * An in-process map whose entries expire, bounded in size: when full, expired entries go first,
 * then the oldest live ones (insertion order), rather than the map growing without bound. The
 * embedded-mode stand-in for values that live in Redis with a TTL.
 */
export class LocalTtlMap<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(private readonly maxEntries: number) {}

  /** The live value, or undefined when absent or expired. */
  get(key: string, now = Date.now()): V | undefined {
    const e = this.entries.get(key);
    return e && e.until > now ? e.value : undefined;
  }

  set(key: string, value: V, ttlMs: number, now = Date.now()): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.evict(now);
    this.entries.set(key, { value, until: now + ttlMs });
  }

  /** Reads and removes: a value can be taken once. */
  take(key: string, now = Date.now()): V | undefined {
    const value = this.get(key, now);
    this.entries.delete(key);
    return value;
  }

  private evict(now: number): void {
    for (const [k, e] of this.entries) if (e.until <= now) this.entries.delete(k);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}
