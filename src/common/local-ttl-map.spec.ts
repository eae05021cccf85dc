import { LocalTtlMap } from './local-ttl-map';

describe('LocalTtlMap', () => {
  it('forgets values once their time is up', () => {
    const m = new LocalTtlMap<string>(10);
    m.set('a', 'x', 100, 0);
    expect(m.get('a', 99)).toBe('x');
    expect(m.get('a', 100)).toBeUndefined();
  });

  it('hands a value out once with take()', () => {
    const m = new LocalTtlMap<number>(10);
    m.set('a', 1, 100, 0);
    expect(m.take('a', 1)).toBe(1);
    expect(m.take('a', 2)).toBeUndefined();
  });

  it('stays within its bound: expired entries go first, then the oldest', () => {
    const m = new LocalTtlMap<number>(3);
    m.set('expired', 0, 10, 0);
    m.set('old', 1, 1000, 0);
    m.set('mid', 2, 1000, 0);
    m.set('new', 3, 1000, 20); // full: the expired one makes room
    expect([m.get('old', 21), m.get('mid', 21), m.get('new', 21)]).toEqual([1, 2, 3]);
    m.set('newer', 4, 1000, 30); // full of live ones: the oldest goes
    expect(m.get('old', 31)).toBeUndefined();
    expect([m.get('mid', 31), m.get('new', 31), m.get('newer', 31)]).toEqual([2, 3, 4]);
  });
});
