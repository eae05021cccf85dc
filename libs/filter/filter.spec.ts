import { andFilters, compileFilter, FilterError, FILTER_LIMITS } from './index';

const opts = { column: 'v.metadata', paramOffset: 0 };
const at = (n: number): string => `(v.metadata #> $${n}::text[])`;

function errorOf(filter: unknown): FilterError {
  try {
    compileFilter(filter, opts);
  } catch (e) {
    if (e instanceof FilterError) return e;
    throw e;
  }
  throw new Error(`expected a FilterError for ${JSON.stringify(filter)}`);
}

function nest(levels: number): Record<string, unknown> {
  let f: Record<string, unknown> = { a: 1 };
  for (let i = 0; i < levels; i++) f = i % 2 === 0 ? { $and: [f] } : { $not: f };
  return f;
}

describe('compileFilter SQL shape', () => {
  it('compiles {} to TRUE with no params', () => {
    expect(compileFilter({}, opts)).toEqual({ sql: 'TRUE', params: [] });
  });

  it('compiles shorthand and $eq to IS NOT DISTINCT FROM a jsonb param', () => {
    const expected = {
      sql: `(${at(1)} IS NOT DISTINCT FROM $2::jsonb)`,
      params: [['a', 'b'], '"x"'],
    };
    expect(compileFilter({ 'a.b': 'x' }, opts)).toEqual(expected);
    expect(compileFilter({ 'a.b': { $eq: 'x' } }, opts)).toEqual(expected);
  });

  it('treats arrays, null and $-free objects as literal equality values', () => {
    expect(compileFilter({ a: [1, { b: null }] }, opts).params).toEqual([['a'], '[1,{"b":null}]']);
    expect(compileFilter({ a: null }, opts).params).toEqual([['a'], 'null']);
    expect(compileFilter({ a: {} }, opts).params).toEqual([['a'], '{}']);
    expect(compileFilter({ a: { b: { $gt: 1 } } }, opts).params).toEqual([
      ['a'],
      '{"b":{"$gt":1}}',
    ]);
    expect(compileFilter({ a: { $eq: { $gt: 1 } } }, opts).params).toEqual([['a'], '{"$gt":1}']);
  });

  it('compiles $ne to IS DISTINCT FROM', () => {
    expect(compileFilter({ a: { $ne: 1.5 } }, opts)).toEqual({
      sql: `(${at(1)} IS DISTINCT FROM $2::jsonb)`,
      params: [['a'], '1.5'],
    });
  });

  it('compiles $in / $nin against one jsonb array param', () => {
    const anyEqual = `COALESCE(${at(1)} IN (SELECT jsonb_array_elements($2::jsonb)), false)`;
    expect(compileFilter({ a: { $in: [1, 'x', null] } }, opts)).toEqual({
      sql: `(${anyEqual})`,
      params: [['a'], '[1,"x",null]'],
    });
    expect(compileFilter({ a: { $nin: [[1]] } }, opts)).toEqual({
      sql: `(NOT ${anyEqual})`,
      params: [['a'], '[[1]]'],
    });
  });

  it.each([
    ['$gt', '>'],
    ['$gte', '>='],
    ['$lt', '<'],
    ['$lte', '<='],
  ])('compiles numeric %s with a number-type guard', (op, cmp) => {
    expect(compileFilter({ price: { [op]: -2.5 } }, opts)).toEqual({
      sql: `(COALESCE(CASE WHEN jsonb_typeof(${at(1)}) = 'number' THEN (${at(1)})::numeric END ${cmp} $2::numeric, false))`,
      params: [['price'], '-2.5'],
    });
  });

  it('passes numbers in exact decimal form', () => {
    expect(compileFilter({ a: { $gt: 1e21 } }, opts).params[1]).toBe('1e+21');
    expect(compileFilter({ a: { $gt: -0 } }, opts).params[1]).toBe('0');
    expect(compileFilter({ a: { $gt: 0.1 } }, opts).params[1]).toBe('0.1');
  });

  it.each([
    ['2024-02-29', '2024-02-29T00:00:00Z'],
    ['2024-02-29T10:30Z', '2024-02-29T10:30:00Z'],
    ['2024-02-29T10:30:05+05:30', '2024-02-29T10:30:05+05:30'],
    ['2024-02-29T10:30:05.123456-00:00', '2024-02-29T10:30:05.123456-00:00'],
  ])(
    'compiles a date operand %s via quiver_try_timestamptz with normalised %s',
    (input, normalised) => {
      expect(compileFilter({ d: { $lt: input } }, opts)).toEqual({
        sql: `(COALESCE(quiver_try_timestamptz(${at(1)}) < $2::timestamptz, false))`,
        params: [['d'], normalised],
      });
    },
  );

  it('ANDs several operators on one field and several keys, sharing repeated path params', () => {
    const { sql, params } = compileFilter({ a: { $gte: 1, $lt: 5 }, b: true, 'a.x': 1 }, opts);
    expect(params).toEqual([['a'], '1', '5', ['b'], 'true', ['a', 'x'], '1']);
    expect(sql).toBe(
      `(((COALESCE(CASE WHEN jsonb_typeof(${at(1)}) = 'number' THEN (${at(1)})::numeric END >= $2::numeric, false))` +
        ` AND (COALESCE(CASE WHEN jsonb_typeof(${at(1)}) = 'number' THEN (${at(1)})::numeric END < $3::numeric, false)))` +
        ` AND (${at(4)} IS NOT DISTINCT FROM $5::jsonb) AND (${at(6)} IS NOT DISTINCT FROM $7::jsonb))`,
    );
  });

  it('compiles $and, $or and $not', () => {
    const { sql, params } = compileFilter(
      { $or: [{ a: 1 }, { $not: { b: 2 } }], $and: [{ c: 3 }, { d: 4 }] },
      opts,
    );
    const eq = (p: number, v: number): string => `(${at(p)} IS NOT DISTINCT FROM $${v}::jsonb)`;
    expect(sql).toBe(`((${eq(1, 2)} OR (NOT ${eq(3, 4)})) AND (${eq(5, 6)} AND ${eq(7, 8)}))`);
    expect(params).toEqual([['a'], '1', ['b'], '2', ['c'], '3', ['d'], '4']);
  });

  it('unwraps single-element $and/$or and $not of {}', () => {
    expect(compileFilter({ $and: [{ a: 1 }] }, opts).sql).toBe(
      `(${at(1)} IS NOT DISTINCT FROM $2::jsonb)`,
    );
    expect(compileFilter({ $or: [{}] }, opts).sql).toBe('TRUE');
    expect(compileFilter({ $not: {} }, opts).sql).toBe('(NOT TRUE)');
  });

  it('numbers placeholders from paramOffset and uses the given column', () => {
    const { sql, params } = compileFilter(
      { a: { $in: ['x'] }, b: { $gt: 1 } },
      { column: 'x.meta', paramOffset: 7 },
    );
    expect(sql.match(/\$\d+/g)).toEqual(['$8', '$9', '$10', '$10', '$11']);
    expect(sql).toContain('(x.meta #> $8::text[])');
    expect(params).toHaveLength(4);
  });

  it('rejects a bad paramOffset as a programming error, not a FilterError', () => {
    expect(() => compileFilter({}, { column: 'm', paramOffset: -1 })).toThrow(RangeError);
    expect(() => compileFilter({}, { column: 'm', paramOffset: 1.5 })).toThrow(RangeError);
  });
});

describe('compileFilter keeps user data out of the SQL text', () => {
  const hostile = [
    "'; DROP TABLE x; --",
    '"); DELETE FROM t; --',
    "O'Brien",
    "x' || $1 || 'y",
    '\\',
    '*/ SELECT 1 /*',
    'é😀',
  ];

  it('sends hostile values only as params', () => {
    for (const s of hostile) {
      const { sql, params } = compileFilter(
        {
          a: s,
          b: { $ne: s, $in: [s, { [s]: s }], $nin: [[s]] },
          $or: [{ c: { $eq: { k: s } } }, { $not: { d: s } }],
        },
        { column: 'v.metadata', paramOffset: 3 },
      );
      expect(sql).not.toContain(s);
      // The only quoted literal we ever emit is 'number'; anything else would mean text leaked in.
      expect(sql.replaceAll("'number'", '')).not.toMatch(/['"\\;]|--/);
      expect(JSON.stringify(params)).toContain(JSON.stringify(JSON.stringify(s)).slice(1, -1));
    }
  });

  it('rejects hostile keys as bad field paths instead of quoting them', () => {
    for (const s of hostile) {
      expect(errorOf({ [s]: 1 }).message).toMatch(/bad field path/);
      expect(errorOf({ a: 1, [`$${s}`]: 1 }).message).toMatch(/unknown operator/);
    }
  });

  it('allows only [A-Za-z0-9_-] path segments, passed as a text[] param', () => {
    const { sql, params } = compileFilter({ 'Ab_-9.0.__proto__': 1 }, opts);
    expect(sql).not.toContain('proto');
    expect(params[0]).toEqual(['Ab_-9', '0', '__proto__']);
  });
});

describe('compileFilter errors', () => {
  it.each<[string, unknown, string]>([
    ['filter not an object', [], ''],
    ['filter null', null, ''],
    ['filter a string', '{"a":1}', ''],
    ['filter a Date', new Date(), ''],
    ['unknown logical operator', { $nor: [{ a: 1 }] }, '$nor'],
    ['unknown field operator', { a: { $regex: 'x' } }, 'a.$regex'],
    ['field-level $not is not supported', { a: { $not: { $eq: 1 } } }, 'a.$not'],
    ['mixed operator and literal keys', { a: { $gt: 1, b: 2 } }, 'a'],
    ['$and not an array', { $and: { a: 1 } }, '$and'],
    ['empty $and', { $and: [] }, '$and'],
    ['empty $or', { $or: [] }, '$or'],
    ['$and item not an object', { $and: [{ a: 1 }, 'x'] }, '$and[1]'],
    ['$not not an object', { $not: [{ a: 1 }] }, '$not'],
    ['$in not an array', { a: { $in: 1 } }, 'a.$in'],
    ['empty $in', { a: { $in: [] } }, 'a.$in'],
    ['$nin too long', { a: { $nin: Array.from({ length: 1001 }, (_, i) => i) } }, 'a.$nin'],
    ['$in item not JSON', { a: { $in: [1, undefined] } }, 'a.$in[1]'],
    ['$gt boolean', { a: { $gt: true } }, 'a.$gt'],
    ['$gte null', { a: { $gte: null } }, 'a.$gte'],
    ['$lt array', { a: { $lt: [1] } }, 'a.$lt'],
    ['$lte non-date string', { a: { $lte: 'yesterday' } }, 'a.$lte'],
    ['impossible calendar date', { a: { $gt: '2023-02-29' } }, 'a.$gt'],
    ['date-time without offset', { a: { $gt: '2024-01-01T10:00:00' } }, 'a.$gt'],
    ['NaN', { a: { $gt: Number.NaN } }, 'a.$gt'],
    ['Infinity in $eq', { a: { $eq: Number.POSITIVE_INFINITY } }, 'a.$eq'],
    [
      'non-finite nested in a value',
      { a: { $in: [{ b: [Number.NEGATIVE_INFINITY] }] } },
      'a.$in[0].b[0]',
    ],
    ['undefined shorthand value', { a: undefined }, 'a'],
    ['function value', { a: () => 1 }, 'a'],
    ['NUL in a string', { a: 'x\u0000y' }, 'a'],
    ['lone surrogate', { a: { $ne: '\ud800' } }, 'a.$ne'],
    ['empty path segment', { 'a..b': 1 }, 'a..b'],
    ['path segment with a space', { 'a b': 1 }, 'a b'],
    ['path segment too long', { ['x'.repeat(65)]: 1 }, 'x'.repeat(65)],
    ['too many path segments', { 'a.b.c.d.e.f.g.h.i': 1 }, 'a.b.c.d.e.f.g.h.i'],
    ['empty key', { '': 1 }, ''],
    ['nested error path', { $and: [{}, {}, { price: { $gt: 'cheap' } }] }, '$and[2].price.$gt'],
    ['error under $or and $not', { $or: [{ $not: { a: { $foo: 1 } } }] }, '$or[0].$not.a.$foo'],
  ])('%s', (_label, filter, path) => {
    expect(errorOf(filter).path).toBe(path);
  });

  it('allows 10 nested logical operators and rejects the 11th', () => {
    expect(() => compileFilter(nest(10), opts)).not.toThrow();
    const error = errorOf(nest(11));
    expect(error.message).toMatch(/nested deeper than 10/);
    expect(error.path).toBe(`${'$and[0].$not.'.repeat(5)}$and`);
  });

  it('allows 100 conditions and rejects the 101st', () => {
    const conditions = (n: number): Record<string, unknown> => ({
      $and: Array.from({ length: n }, (_, i) => ({ a: { $ne: i } })),
    });
    expect(() => compileFilter(conditions(100), opts)).not.toThrow();
    const error = errorOf(conditions(101));
    expect(error.path).toBe('$and[100].a.$ne');
    expect(error.message).toMatch(/more than 100 conditions/);
    // Each operator counts, including the ones sharing a field.
    expect(errorOf({ ...conditions(99), b: { $gt: 1, $lt: 2 } }).path).toBe('b.$lt');
  });

  it('rejects a filter over 64 KiB when JSON-encoded', () => {
    const big = { a: { $eq: 'x'.repeat(FILTER_LIMITS.maxEncodedBytes) } };
    const error = errorOf(big);
    expect(error.path).toBe('');
    expect(error.message).toMatch(/65536 bytes/);
    // Counted in UTF-8 bytes, not UTF-16 units.
    expect(errorOf({ a: 'é'.repeat(33_000) }).path).toBe('');
    expect(() => compileFilter({ a: 'x'.repeat(60_000) }, opts)).not.toThrow();
  });

  it('rejects deeply nested operand values and cyclic input without crashing', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(errorOf({ a: deep }).message).toMatch(/nested deeper than 32/);
    const cyclic: Record<string, unknown> = {};
    cyclic.a = cyclic;
    expect(errorOf(cyclic).path).toBe('');
  });

  it('is an Error with its path in the message', () => {
    const error = errorOf({ a: { $in: 'x' } });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('FilterError');
    expect(error.message).toMatch(/^a\.\$in: /);
  });
});

describe('andFilters', () => {
  it('drops undefined and empty filters', () => {
    expect(andFilters()).toEqual({});
    expect(andFilters(undefined, {})).toEqual({});
    expect(andFilters({ a: 1 }, undefined, {})).toEqual({ a: 1 });
  });

  it('keeps each filter as its own $and branch', () => {
    const scope = { tenant: 't1' };
    const user = { tenant: 't2', $or: [{}] };
    const combined = andFilters(scope, user);
    expect(combined).toEqual({ $and: [scope, user] });
    // The user's {tenant: 't2'} cannot replace the scope's key the way an object spread would.
    const { sql } = compileFilter(combined, opts);
    expect(sql.startsWith('((')).toBe(true);
    expect(sql).toContain(' AND ');
  });
});
