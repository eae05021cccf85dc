/**
 * The part of RFC 8941 (Structured Field Values) that signatures and digests need: dictionaries whose
 * members are items or inner lists, with parameters. Decimals are not supported.
 *
 * Stricter than RFC 8941 on purpose, because these fields carry security decisions and a second
 * reading of the same bytes must not be possible: a repeated dictionary key or parameter key is an
 * error (RFC 8941 says the last one wins), and byte sequences must be canonical, padded base64.
 */

export type BareItem =
  | { type: 'integer'; value: number }
  | { type: 'string'; value: string }
  | { type: 'token'; value: string }
  | { type: 'bytes'; value: Buffer }
  | { type: 'boolean'; value: boolean };

export type SfParameters = Map<string, BareItem>;

export interface SfItem {
  kind: 'item';
  value: BareItem;
  params: SfParameters;
}

export interface SfInnerList {
  kind: 'inner-list';
  items: SfItem[];
  params: SfParameters;
}

/** `raw` is the member's value exactly as it appears in the field (what a signature covers). */
export type SfDictionaryMember = (SfItem | SfInnerList) & { raw: string };

export type SfDictionary = Map<string, SfDictionaryMember>;

export type SfResult<T> = { ok: true; value: T } | { ok: false; error: string };

class SfSyntaxError extends Error {}

const KEY_FIRST = /[a-z*]/;
const TOKEN_FIRST = /[A-Za-z*]/;
// Runs of the characters that may follow: sticky, so one match from the current offset consumes the
// whole run instead of one test per character.
const KEY_REST_RUN = /[a-z0-9_\-.*]*/y;
const TOKEN_REST_RUN = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/y;
const BASE64_RUN = /[A-Za-z0-9+/=]*/y;
const MAX_INTEGER_DIGITS = 15;

export function parseDictionary(input: string): SfResult<SfDictionary> {
  try {
    return { ok: true, value: new Parser(input).dictionary() };
  } catch (error) {
    if (error instanceof SfSyntaxError) return { ok: false, error: error.message };
    throw error;
  }
}

class Parser {
  private pos = 0;
  private readonly end: number;

  constructor(private readonly input: string) {
    // RFC 8941 4.2: leading and trailing spaces are discarded before parsing.
    let start = 0;
    let end = input.length;
    while (start < end && input[start] === ' ') start++;
    while (end > start && input[end - 1] === ' ') end--;
    this.pos = start;
    this.end = end;
  }

  dictionary(): SfDictionary {
    const members: SfDictionary = new Map();
    if (this.atEnd()) return members;
    for (;;) {
      const key = this.key();
      if (members.has(key)) this.fail(`duplicate dictionary key "${key}"`);
      let member: SfItem | SfInnerList;
      let start = this.pos;
      if (this.peek() === '=') {
        start = ++this.pos;
        member = this.peek() === '(' ? this.innerList() : this.item();
      } else {
        member = {
          kind: 'item',
          value: { type: 'boolean', value: true },
          params: this.parameters(),
        };
      }
      members.set(key, { ...member, raw: this.input.slice(start, this.pos) });
      this.skipOws();
      if (this.atEnd()) return members;
      this.expect(',');
      this.skipOws();
      if (this.atEnd()) this.fail('trailing comma');
    }
  }

  private innerList(): SfInnerList {
    this.expect('(');
    const items: SfItem[] = [];
    for (;;) {
      this.skipSp();
      if (this.peek() === ')') {
        this.pos++;
        return { kind: 'inner-list', items, params: this.parameters() };
      }
      items.push(this.item());
      const next = this.peek();
      if (next !== ' ' && next !== ')') this.fail('expected a space or ")" in an inner list');
    }
  }

  private item(): SfItem {
    const value = this.bareItem();
    return { kind: 'item', value, params: this.parameters() };
  }

  private parameters(): SfParameters {
    const params: SfParameters = new Map();
    while (this.peek() === ';') {
      this.pos++;
      this.skipSp();
      const key = this.key();
      if (params.has(key)) this.fail(`duplicate parameter "${key}"`);
      let value: BareItem = { type: 'boolean', value: true };
      if (this.peek() === '=') {
        this.pos++;
        value = this.bareItem();
      }
      params.set(key, value);
    }
    return params;
  }

  private bareItem(): BareItem {
    const c = this.peek();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.integer();
    if (c === '"') return this.string();
    if (c === ':') return this.bytes();
    if (c === '?') return this.boolean();
    if (c !== undefined && TOKEN_FIRST.test(c)) return this.token();
    return this.fail('expected an item');
  }

  private integer(): BareItem {
    let sign = 1;
    if (this.peek() === '-') {
      sign = -1;
      this.pos++;
    }
    const start = this.pos;
    while (this.isDigit(this.peek())) this.pos++;
    const digits = this.input.slice(start, this.pos);
    if (digits.length === 0) this.fail('expected a digit');
    if (digits.length > MAX_INTEGER_DIGITS) this.fail('integer too long');
    if (this.peek() === '.') this.fail('decimals are not supported');
    return { type: 'integer', value: sign * Number(digits) };
  }

  private string(): BareItem {
    this.expect('"');
    let out = '';
    // Unescaped stretches are sliced whole, not appended a character at a time.
    let stretch = this.pos;
    for (;;) {
      if (this.atEnd()) this.fail('unterminated string');
      const code = this.input.charCodeAt(this.pos++);
      if (code === 0x22 /* " */) {
        return { type: 'string', value: out + this.input.slice(stretch, this.pos - 1) };
      }
      if (code === 0x5c /* \ */) {
        out += this.input.slice(stretch, this.pos - 1);
        const escaped = this.atEnd() ? undefined : this.input[this.pos++];
        if (escaped !== '"' && escaped !== '\\') this.fail('bad escape in string');
        out += escaped;
        stretch = this.pos;
        continue;
      }
      if (code < 0x20 || code > 0x7e) this.fail('invalid character in string');
    }
  }

  private token(): BareItem {
    const start = this.pos++;
    this.pos = this.runOf(TOKEN_REST_RUN);
    return { type: 'token', value: this.input.slice(start, this.pos) };
  }

  private bytes(): BareItem {
    this.expect(':');
    const start = this.pos;
    this.pos = this.runOf(BASE64_RUN);
    if (!this.atEnd() && this.input[this.pos] !== ':') this.fail('invalid base64 character');
    const encoded = this.input.slice(start, this.pos);
    this.expect(':');
    const value = Buffer.from(encoded, 'base64');
    // Node's decoder is lenient (skips junk, tolerates missing padding); re-encoding catches both.
    if (value.toString('base64') !== encoded) this.fail('base64 is not canonical');
    return { type: 'bytes', value };
  }

  private boolean(): BareItem {
    this.expect('?');
    const c = this.atEnd() ? undefined : this.input[this.pos++];
    if (c === '1') return { type: 'boolean', value: true };
    if (c === '0') return { type: 'boolean', value: false };
    return this.fail('expected ?0 or ?1');
  }

  private key(): string {
    const start = this.pos;
    if (this.atEnd() || !KEY_FIRST.test(this.input[this.pos])) this.fail('expected a key');
    this.pos++;
    this.pos = this.runOf(KEY_REST_RUN);
    return this.input.slice(start, this.pos);
  }

  /** Where the run of `re`'s characters starting at the current offset ends (never past the end). */
  private runOf(re: RegExp): number {
    re.lastIndex = this.pos;
    re.test(this.input);
    return Math.min(re.lastIndex, this.end);
  }

  private skipSp(): void {
    while (this.peek() === ' ') this.pos++;
  }

  private skipOws(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }

  private expect(c: string): void {
    if (this.peek() !== c) this.fail(`expected "${c}"`);
    this.pos++;
  }

  private peek(): string | undefined {
    return this.atEnd() ? undefined : this.input[this.pos];
  }

  private atEnd(): boolean {
    return this.pos >= this.end;
  }

  private isDigit(c: string | undefined): boolean {
    return c !== undefined && c >= '0' && c <= '9';
  }

  private fail(message: string): never {
    throw new SfSyntaxError(`${message} at offset ${this.pos}`);
  }
}

/** Serializes a string as an sf-string; the caller must have checked it with isSfString. */
export function serializeSfString(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export function isSfString(value: string): boolean {
  return /^[\x20-\x7e]*$/.test(value);
}

export function isSfKey(value: string): boolean {
  return /^[a-z*][a-z0-9_\-.*]*$/.test(value);
}
