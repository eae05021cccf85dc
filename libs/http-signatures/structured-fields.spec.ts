import { isSfKey, isSfString, parseDictionary, serializeSfString } from './structured-fields';

function parsed(input: string) {
  const result = parseDictionary(input);
  if (!result.ok) throw new Error(`expected ${input} to parse: ${result.error}`);
  return result.value;
}

function refuses(input: string): void {
  const result = parseDictionary(input);
  expect(result.ok).toBe(false);
}

describe('parseDictionary', () => {
  it('reads an inner list of strings with integer, string and token parameters', () => {
    const dict = parsed(
      'sig1=("@method" "content-digest");created=1618884473;keyid="k\\"1";x=tok/en',
    );
    const member = dict.get('sig1');
    expect(member?.kind).toBe('inner-list');
    if (member?.kind !== 'inner-list') return;
    expect(member.items.map((item) => item.value)).toEqual([
      { type: 'string', value: '@method' },
      { type: 'string', value: 'content-digest' },
    ]);
    expect(member.params.get('created')).toEqual({ type: 'integer', value: 1618884473 });
    expect(member.params.get('keyid')).toEqual({ type: 'string', value: 'k"1' });
    expect(member.params.get('x')).toEqual({ type: 'token', value: 'tok/en' });
  });

  it('keeps the raw text of each member value, as a signature covers it', () => {
    const raw = '("a"   "b" );created=1; keyid="x"';
    const dict = parsed(`sig1=${raw}  ,  other=:AAAA:`);
    expect(dict.get('sig1')?.raw).toBe(raw);
    expect(dict.get('other')?.raw).toBe(':AAAA:');
  });

  it('reads byte sequences, booleans, negative integers and bare keys', () => {
    const dict = parsed('a=:aGVsbG8=:, b=?0, c=-42, d;p, e=?1');
    expect(dict.get('a')?.kind === 'item' && dict.get('a')).toMatchObject({
      value: { type: 'bytes', value: Buffer.from('hello') },
    });
    expect(dict.get('b')).toMatchObject({ value: { type: 'boolean', value: false } });
    expect(dict.get('c')).toMatchObject({ value: { type: 'integer', value: -42 } });
    expect(dict.get('d')).toMatchObject({ value: { type: 'boolean', value: true } });
    expect(dict.get('e')).toMatchObject({ value: { type: 'boolean', value: true } });
  });

  it('reads an empty field as an empty dictionary and tolerates surrounding spaces', () => {
    expect(parsed('').size).toBe(0);
    expect(parsed('   ').size).toBe(0);
    expect(parsed('  a=1  ').get('a')).toMatchObject({ value: { type: 'integer', value: 1 } });
    expect(parsed('a=()').get('a')).toMatchObject({ kind: 'inner-list', items: [] });
  });

  it.each([
    ['duplicate keys', 'a=1, a=2'],
    ['duplicate parameters', 'a=1;p=1;p=2'],
    ['a trailing comma', 'a=1,'],
    ['a missing comma', 'a=1 b=2'],
    ['an upper-case key', 'A=1'],
    ['a key starting with a digit', '1a=1'],
    ['an unterminated string', 'a="abc'],
    ['an unterminated inner list', 'a=("x" "y"'],
    ['items not separated by a space', 'a=("x""y")'],
    ['a nested inner list', 'a=(("x"))'],
    ['a bad escape', 'a="\\n"'],
    ['a non-ASCII string', 'a="é"'],
    ['a control character in a string', 'a="\u0001"'],
    ['a decimal', 'a=1.5'],
    ['an integer of 16 digits', 'a=1234567890123456'],
    ['a lone minus', 'a=-'],
    ['an unterminated byte sequence', 'a=:AAAA'],
    ['a non-base64 character', 'a=:AA*A:'],
    ['unpadded base64', 'a=:aGVsbG8:'],
    ['non-zero pad bits', 'a=:aGVsbG9=:'],
    ['padding in the middle', 'a=:AA==AAAA:'],
    ['a bad boolean', 'a=?2'],
    ['a missing value', 'a='],
    ['garbage after a member', 'a=1 x'],
    ['a leading tab', '\ta=1'],
  ])('refuses %s', (_name, input) => {
    refuses(input);
  });

  it('accepts integers of 15 digits', () => {
    expect(parsed('a=999999999999999').get('a')).toMatchObject({
      value: { type: 'integer', value: 999_999_999_999_999 },
    });
  });
});

describe('sf-string helpers', () => {
  it('escapes quotes and backslashes so that the result parses back to the same string', () => {
    const value = 'a "quoted" \\ value';
    expect(isSfString(value)).toBe(true);
    const dict = parsed(`k=${serializeSfString(value)}`);
    expect(dict.get('k')).toMatchObject({ value: { type: 'string', value } });
  });

  it('refuses non-printable strings and malformed keys', () => {
    expect(isSfString('a\nb')).toBe(false);
    expect(isSfString('ü')).toBe(false);
    expect(isSfKey('sig1')).toBe(true);
    expect(isSfKey('*a.b-c_d')).toBe(true);
    expect(isSfKey('Sig')).toBe(false);
    expect(isSfKey('')).toBe(false);
  });
});
