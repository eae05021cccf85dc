import { evaluateFilter, FilterError } from './index';

const doc = {
  n: 1,
  f: 1.5,
  s: 'hello',
  b: true,
  z: null,
  arr: [10, 20, 30],
  obj: { x: 1, y: [1, 2] },
  when: '2024-03-10T12:00:00Z',
  day: '2024-03-10',
  offset: '2024-03-10T12:00:00+02:00',
  micro: '2024-03-10T12:00:00.000001Z',
  junk: 'March 10th',
  numeric: '5',
};

const match = (filter: unknown, metadata: Record<string, unknown> = doc): boolean =>
  evaluateFilter(filter, metadata);

describe('evaluateFilter', () => {
  it('matches everything with {}', () => {
    expect(match({})).toBe(true);
    expect(match({}, {})).toBe(true);
  });

  describe('$eq / $ne', () => {
    it('compares numbers numerically and JSON values deeply', () => {
      expect(match({ n: 1.0 })).toBe(true);
      expect(match({ n: -0 }, { n: 0 })).toBe(true);
      expect(match({ obj: { y: [1, 2], x: 1 } })).toBe(true);
      expect(match({ obj: { x: 1 } })).toBe(false);
      expect(match({ arr: [10, 30, 20] })).toBe(false);
      expect(match({ arr: 10 })).toBe(false);
      expect(match({ z: null })).toBe(true);
      expect(match({ b: 1 })).toBe(false);
      expect(match({ numeric: 5 })).toBe(false);
    });

    it('treats a missing field as unequal', () => {
      expect(match({ missing: null })).toBe(false);
      expect(match({ missing: { $ne: null } })).toBe(true);
      expect(match({ z: { $ne: null } })).toBe(false);
      expect(match({ 's.deeper': { $ne: 'x' } })).toBe(true);
    });

    it('follows dotted paths into objects and, like jsonb #>, into arrays by index', () => {
      expect(match({ 'obj.x': 1 })).toBe(true);
      expect(match({ 'obj.y.1': 2 })).toBe(true);
      expect(match({ 'arr.0': 10 })).toBe(true);
      expect(match({ 'arr.-1': 30 })).toBe(true);
      expect(match({ 'arr.-3': 10 })).toBe(true);
      expect(match({ 'arr.-4': { $ne: 10 } })).toBe(true);
      expect(match({ 'arr.01': 20 })).toBe(true);
      expect(match({ 'arr.3': { $in: [null, 10, 20, 30] } })).toBe(false);
      expect(match({ 'arr.x': { $nin: [10] } })).toBe(true);
    });

    it('does not see inherited properties', () => {
      expect(match({ toString: { $ne: 1 } }, {})).toBe(true);
      expect(match({ 'obj.constructor': { $ne: null } })).toBe(true);
      // JSON.parse makes __proto__ an own key, as it would be for a request body.
      const protoFilter: unknown = JSON.parse('{"__proto__": {"$eq": {}}}');
      expect(match(protoFilter, JSON.parse('{"__proto__": {}}') as Record<string, unknown>)).toBe(
        true,
      );
      expect(match(protoFilter, {})).toBe(false);
    });
  });

  describe('$in / $nin', () => {
    it('matches any / none of the values', () => {
      expect(match({ s: { $in: ['x', 'hello'] } })).toBe(true);
      expect(match({ n: { $in: ['1', true] } })).toBe(false);
      expect(match({ arr: { $in: [[10, 20, 30]] } })).toBe(true);
      expect(match({ s: { $nin: ['x', 'hello'] } })).toBe(false);
      expect(match({ s: { $nin: ['x'] } })).toBe(true);
    });

    it('treats a missing field as in nothing', () => {
      expect(match({ missing: { $in: [null] } })).toBe(false);
      expect(match({ missing: { $nin: [null] } })).toBe(true);
    });
  });

  describe('numeric ranges', () => {
    it('compares only stored numbers', () => {
      expect(match({ f: { $gt: 1 } })).toBe(true);
      expect(match({ f: { $gte: 1.5, $lte: 1.5 } })).toBe(true);
      expect(match({ f: { $lt: 1.5 } })).toBe(false);
      expect(match({ numeric: { $gt: 1 } })).toBe(false);
      expect(match({ b: { $gt: 0 } })).toBe(false);
      expect(match({ z: { $lt: 1 } })).toBe(false);
      expect(match({ arr: { $gt: 0 } })).toBe(false);
      expect(match({ missing: { $lt: 1 } })).toBe(false);
    });
  });

  describe('date ranges', () => {
    it('compares instants, honouring offsets, and reads bare dates as UTC midnight', () => {
      expect(match({ when: { $gt: '2024-03-10' } })).toBe(true);
      expect(match({ when: { $gt: '2024-03-10T13:00+02:00' } })).toBe(true);
      expect(match({ when: { $lte: '2024-03-10T11:59:59.999Z' } })).toBe(false);
      expect(match({ offset: { $lt: '2024-03-10T12:00Z' } })).toBe(true);
      expect(match({ offset: { $gte: '2024-03-10T10:00Z', $lte: '2024-03-10T10:00Z' } })).toBe(
        true,
      );
      expect(match({ day: { $gte: '2024-03-10T00:00:00Z', $lte: '2024-03-10T00:00:00Z' } })).toBe(
        true,
      );
    });

    it('keeps microsecond precision', () => {
      expect(match({ micro: { $gt: '2024-03-10T12:00:00Z' } })).toBe(true);
      expect(match({ micro: { $gt: '2024-03-10T12:00:00.000001Z' } })).toBe(false);
      expect(match({ micro: { $gte: '2024-03-10T12:00:00.000001Z' } })).toBe(true);
    });

    it('is false for stored values that are not strictly ISO dates', () => {
      expect(match({ junk: { $lt: '2999-01-01' } })).toBe(false);
      expect(match({ n: { $gt: '1970-01-01' } })).toBe(false);
      expect(match({ x: { $gt: '1970-01-01' } }, { x: '2024-03-10 12:00:00Z' })).toBe(false);
      expect(match({ x: { $gt: '1970-01-01' } }, { x: '2024-03-10T12:00:00' })).toBe(false);
      expect(match({ x: { $gt: '1970-01-01' } }, { x: '2023-02-29' })).toBe(false);
      expect(match({ missing: { $gt: '1970-01-01' } })).toBe(false);
    });

    it('never compares a number operand with a date string or vice versa', () => {
      expect(match({ when: { $gt: 0 } })).toBe(false);
      expect(match({ n: { $lt: '2999-01-01' } })).toBe(false);
    });
  });

  describe('logic', () => {
    it('turns "false because missing or mistyped" into true under $not', () => {
      expect(match({ $not: { missing: { $gt: 1 } } })).toBe(true);
      expect(match({ $not: { s: { $gt: 1 } } })).toBe(true);
      expect(match({ $not: { missing: 1 } })).toBe(true);
      expect(match({ $not: { n: 1 } })).toBe(false);
      expect(match({ $not: {} })).toBe(false);
    });

    it('combines $and, $or and sibling keys', () => {
      expect(match({ $or: [{ n: 2 }, { s: 'hello' }] })).toBe(true);
      expect(match({ $or: [{ n: 2 }, { s: 'bye' }] })).toBe(false);
      expect(match({ $and: [{ n: 1 }, { s: 'hello' }], b: true })).toBe(true);
      expect(match({ $and: [{ n: 1 }, { s: 'hello' }], b: false })).toBe(false);
      expect(match({ n: 1, $not: { $or: [{ s: 'x' }, { missing: 1 }] } })).toBe(true);
    });
  });

  it('validates the filter exactly like compileFilter', () => {
    expect(() => match({ a: { $gt: 'soon' } })).toThrow(FilterError);
    expect(() => match({ $or: [] })).toThrow(FilterError);
    expect(() => match('x')).toThrow(FilterError);
  });
});
