import { escapeLiteral } from 'pg';
import {
  composeRead,
  inlineStatement,
  MAX_PREPARED_PER_CONNECTION,
  paramLiteral,
  PREPARED_PREFIX,
  statement,
} from './db';

const list = statement('SELECT id FROM collections WHERE name = ANY($1::text[]) ORDER BY name', [
  'a',
]);

describe('paramLiteral', () => {
  it('quotes every value, so the parameter type reads it', () => {
    expect(paramLiteral(null)).toBe('NULL');
    expect(paramLiteral(true)).toBe("'true'");
    expect(paramLiteral(false)).toBe("'false'");
    expect(paramLiteral(42)).toBe("'42'");
    expect(paramLiteral(-0.5)).toBe("'-0.5'");
    expect(paramLiteral('docs')).toBe("'docs'");
  });

  it('escapes quotes and backslashes in text and in array elements', () => {
    expect(paramLiteral("x' OR true --")).toBe("'x'' OR true --'");
    expect(paramLiteral('a\\b')).toBe(" E'a\\\\b'");
    expect(paramLiteral(['plain', 'qu"ote', "it's", 'back\\slash', ''])).toBe(
      ` E'{"plain","qu\\\\"ote","it''s","back\\\\\\\\slash",""}'`,
    );
    expect(paramLiteral([])).toBe("'{}'");
  });

  it('quotes text exactly as pg escapeLiteral does, with or without characters to escape', () => {
    const alphabet = [
      "'",
      '\\',
      '"',
      'a',
      'Z',
      '0',
      ' ',
      '-',
      ',',
      '[',
      ']',
      'é',
      '\u{1F600}',
      '\n',
    ];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const samples = [
      '',
      '[0.5,-1e-7,3]',
      `[${Array.from({ length: 128 }, () => '0.123456789').join(',')}]`,
    ];
    for (let i = 0; i < 300; i++) {
      samples.push(
        Array.from({ length: next() % 12 }, () => alphabet[next() % alphabet.length]).join(''),
      );
    }
    for (const text of samples) expect(paramLiteral(text)).toBe(escapeLiteral(text));
  });

  it('refuses numbers PostgreSQL would not read back', () => {
    expect(() => paramLiteral(Number.NaN)).toThrow(/finite/);
    expect(() => paramLiteral(Number.POSITIVE_INFINITY)).toThrow(/finite/);
  });
});

describe('inlineStatement', () => {
  it('replaces each placeholder with its literal, reused placeholders included', () => {
    expect(inlineStatement(statement('SELECT $1::int + $1::int, $2', 2, 'x'))).toBe(
      "SELECT '2'::int + '2'::int, 'x'",
    );
  });

  it('refuses a placeholder without a value', () => {
    expect(() => inlineStatement(statement('SELECT $1, $2', 1))).toThrow(/\$2/);
    expect(() => inlineStatement(statement('SELECT $0', 1))).toThrow(/\$0/);
  });
});

describe('composeRead', () => {
  const setup = statement('SELECT quiver_enter_tenant($1::uuid, true) AS status', 'tenant');

  it('prepares a statement the connection does not have, then executes it', () => {
    const m = composeRead([setup, list], new Set());
    expect(m.prepares).toHaveLength(2);
    for (const name of m.prepares) expect(name.startsWith(PREPARED_PREFIX)).toBe(true);
    const [s, l] = m.prepares;
    expect(m.sql).toBe(
      `PREPARE ${s} AS ${setup.text}; EXECUTE ${s}('tenant'); ` +
        `PREPARE ${l} AS ${list.text}; EXECUTE ${l}('{"a"}')`,
    );
    expect(m.statements).toBe(4);
    expect(m.results).toEqual([1, 3]);
    expect(m.executes).toBe(2);
  });

  it('only executes what the connection has prepared, and passes strings through', () => {
    const first = composeRead([setup, list], new Set());
    const m = composeRead([setup, 'SELECT 1', list], new Set(first.prepares));
    expect(m.prepares).toEqual([]);
    expect(m.sql).toBe(
      `EXECUTE ${first.prepares[0]}('tenant'); SELECT 1; EXECUTE ${first.prepares[1]}('{"a"}')`,
    );
    expect(m.results).toEqual([0, 1, 2]);
  });

  it('prepares a statement once when a message repeats it', () => {
    const m = composeRead([list, list], new Set());
    expect(m.prepares).toHaveLength(1);
    expect(m.results).toEqual([1, 2]);
  });

  it('names statements by their text alone', () => {
    const a = composeRead([statement('SELECT $1::int', 1)], new Set());
    const b = composeRead([statement('SELECT $1::int', 2)], new Set());
    const c = composeRead([statement('SELECT $1::bigint', 1)], new Set());
    expect(a.prepares).toEqual(b.prepares);
    expect(a.prepares).not.toEqual(c.prepares);
  });

  it('inlines everything when the connection may not prepare', () => {
    const m = composeRead([setup, list], null);
    expect(m.sql).toBe(
      `SELECT quiver_enter_tenant('tenant'::uuid, true) AS status; ` +
        `SELECT id FROM collections WHERE name = ANY('{"a"}'::text[]) ORDER BY name`,
    );
    expect(m.prepares).toEqual([]);
    expect(m.executes).toBe(0);
  });

  it('inlines new statements once the connection holds the most it may', () => {
    const full = new Set(
      Array.from({ length: MAX_PREPARED_PER_CONNECTION }, (_, i) => `${PREPARED_PREFIX}${i}`),
    );
    const m = composeRead([list], full);
    expect(m.prepares).toEqual([]);
    expect(m.sql).not.toContain('EXECUTE');
  });
});
