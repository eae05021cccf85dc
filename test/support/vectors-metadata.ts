import { prng } from './vectors-math';

/**
 * Seeded metadata for the filter suite: numbers, strings, booleans, arrays, nested objects and ISO dates,
 * with some rows missing fields and some holding the wrong type, plus the filters run against it.
 */

export interface SeedRow {
  id: string;
  values: number[];
  metadata: Record<string, unknown>;
}

const CATEGORIES: unknown[] = ['shoes', 'hats', 'bags', 'Shoes', 'shoes ', 1, null];
const TAGS: unknown[] = [
  ['red'],
  ['red', 'blue'],
  ['blue', 'red'],
  [],
  ['green', 'blue'],
  'red',
  ['red', 'blue', 'green'],
];
// Same instants spelled differently, instants a microsecond apart, and strings that are not dates.
const DATES: unknown[] = [
  '2024-03-01',
  '2024-03-01T00:00:00Z',
  '2024-03-01T10:00:00Z',
  '2024-03-01T12:00:00+02:00',
  '2024-03-01T05:00:00-05:00',
  '2024-03-01T10:00:00.123456Z',
  '2024-03-01T10:00:00.123455Z',
  '2024-02-29',
  '2023-12-31T23:59:59Z',
  '2024-12-31T23:59:59.999999Z',
  '0999-01-01',
  '2024-02-30',
  '2024-03-01 10:00:00',
  'yesterday',
  20240301,
  true,
];
const PRICES: unknown[] = [
  0,
  10,
  20,
  30,
  49.99,
  50,
  50.01,
  75,
  100,
  -5.5,
  1e6,
  0.1,
  '10',
  '50',
  null,
  true,
];

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)];
}

export function seedRows(count: number, seed = 7): SeedRow[] {
  const rand = prng(seed);
  const rows: SeedRow[] = [];
  for (let i = 0; i < count; i++) {
    const m: Record<string, unknown> = {};
    // Each field is absent from about one row in six.
    const present = () => rand() > 1 / 6;
    if (present()) m.price = pick(rand, PRICES);
    if (present()) m.category = pick(rand, CATEGORIES);
    if (present()) m.inStock = pick(rand, [true, false, true, 'true', 0]);
    if (present()) m.tags = pick(rand, TAGS);
    if (present()) m.added = pick(rand, DATES);
    if (present()) m.rating = pick(rand, [0.3, 0.1 + 0.2, 4.5, 5, -1, 1e-7]);
    if (present()) {
      const dims = pick(rand, ['object', 'object', 'object', 'partial', 'scalar', 'array']);
      if (dims === 'object')
        m.dims = {
          w: pick(rand, [5, 10, 15]),
          h: pick(rand, [20, 30]),
          unit: pick(rand, ['cm', 'in']),
        };
      else if (dims === 'partial') m.dims = { unit: 'cm' };
      else if (dims === 'scalar') m.dims = 10;
      else m.dims = [10, 20];
    }
    if (present()) {
      m.seller =
        rand() > 0.2
          ? { name: pick(rand, ['acme', 'globex']), tier: { level: pick(rand, [1, 2, 3, 4, '2']) } }
          : { name: 'solo' };
    }
    if (rand() < 0.1) m.flag = null;
    // A few rows with exactly the object the nested-equality filter asks for, in another key order.
    if (i % 37 === 0) m.dims = { unit: 'cm', h: 20, w: 10 };
    rows.push({
      id: `row-${String(i).padStart(3, '0')}`,
      values: [Math.fround(rand() * 2 - 1), Math.fround(rand() * 2 - 1)],
      metadata: m,
    });
  }
  return rows;
}

/** Every operator, on numbers, strings, booleans, arrays, nested paths and dates, alone and combined. */
export const FILTERS: Record<string, unknown>[] = [
  { category: 'shoes' },
  { category: { $eq: 'shoes' } },
  { category: { $ne: 'shoes' } },
  { category: { $in: ['shoes', 'hats'] } },
  { category: { $nin: ['shoes', 'hats'] } },
  { category: { $in: [1, null] } },
  { category: null },
  { category: { $ne: null } },
  { price: 10 },
  { price: 50.0 },
  { price: { $in: [10, 20, 30] } },
  { price: { $nin: [0, 10] } },
  { price: { $gt: 50 } },
  { price: { $gte: 50 } },
  { price: { $lt: 20 } },
  { price: { $lte: 20 } },
  { price: { $gt: 10, $lt: 60 } },
  { price: { $gte: -5.5, $lte: 0.1 } },
  { price: { $gt: 1e300 } },
  { price: '10' },
  { inStock: true },
  { inStock: false },
  { inStock: { $ne: true } },
  { inStock: { $in: [true, 'true'] } },
  { rating: 0.30000000000000004 },
  { rating: { $gt: 0.3 } },
  { rating: { $lte: 1e-7 } },
  { tags: ['red', 'blue'] },
  { tags: { $eq: [] } },
  { tags: { $in: [['red'], 'red'] } },
  { 'tags.0': 'red' },
  { 'tags.1': { $ne: 'blue' } },
  { 'tags.-1': 'blue' },
  { dims: { w: 10, h: 20, unit: 'cm' } },
  { dims: { $eq: { unit: 'cm' } } },
  { 'dims.w': { $gte: 10 } },
  { 'dims.unit': 'cm' },
  { 'dims.unit': { $nin: ['cm'] } },
  { 'dims.0': 10 },
  { 'seller.tier.level': { $lt: 3 } },
  { 'seller.tier.level': 2 },
  { 'seller.name': { $in: ['acme', 'solo'] } },
  { added: { $gte: '2024-03-01' } },
  { added: { $gt: '2024-03-01' } },
  { added: { $lt: '2024-03-01T10:00:00Z' } },
  { added: { $lte: '2024-03-01T10:00:00Z' } },
  { added: { $gte: '2024-03-01T10:00:00Z', $lte: '2024-03-01T10:00:00Z' } },
  { added: { $gt: '2024-03-01T08:00:00-02:00' } },
  { added: { $lte: '2024-03-01T10:00:00.123455Z' } },
  { added: { $gt: '2024-03-01T10:00:00.123455Z' } },
  { added: { $lt: '1000-01-01' } },
  { added: '2024-03-01' },
  { $and: [{ category: 'shoes' }, { price: { $lt: 50 } }] },
  { category: 'shoes', inStock: true },
  { $or: [{ category: 'hats' }, { inStock: false }] },
  { $not: { category: 'shoes' } },
  { $not: { price: { $gt: 50 } } },
  { $not: { $or: [{ price: { $gt: 50 } }, { 'dims.unit': 'in' }] } },
  {
    $and: [
      { $or: [{ 'dims.w': { $lte: 10 } }, { tags: { $in: [['red'], ['red', 'blue']] } }] },
      { $not: { added: { $lt: '2024-03-01' } } },
    ],
  },
  {
    $or: [
      { $and: [{ category: 'bags' }, { $not: { inStock: true } }] },
      { 'seller.tier.level': { $gte: 4 } },
    ],
  },
  { missing: { $nin: [1] } },
  { missing: { $ne: 1 } },
  { 'missing.deeper': 1 },
  { flag: null },
];
