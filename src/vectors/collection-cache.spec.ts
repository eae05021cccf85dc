import { CollectionCache } from './collection-cache';
import type { CollectionRow } from './collections.service';

const row = (tenant: string, name: string, id = 'c-1'): CollectionRow => ({
  tenant_id: tenant,
  id,
  name,
  dimension: 3,
  metric: 'cosine',
  index_kind: 'hnsw',
  created_at: new Date(0),
});

describe('CollectionCache', () => {
  it('keeps collections per tenant and name, until the TTL', () => {
    let now = 0;
    const cache = new CollectionCache(1000, 10, () => now);
    cache.set(row('t1', 'docs'));
    expect(cache.get('t1', 'docs')?.id).toBe('c-1');
    expect(cache.get('t2', 'docs')).toBeUndefined();
    now = 999;
    expect(cache.get('t1', 'docs')).toBeDefined();
    now = 1000;
    expect(cache.get('t1', 'docs')).toBeUndefined();
  });

  it('forgets on request and evicts the oldest when full', () => {
    const cache = new CollectionCache(1000, 2, () => 0);
    cache.set(row('t1', 'a'));
    cache.set(row('t1', 'b'));
    cache.set(row('t1', 'c'));
    expect(cache.get('t1', 'a')).toBeUndefined();
    expect(cache.get('t1', 'b')).toBeDefined();
    cache.forget('t1', 'b');
    expect(cache.get('t1', 'b')).toBeUndefined();
    expect(cache.get('t1', 'c')).toBeDefined();
  });
});
