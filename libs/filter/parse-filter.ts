import { FilterError } from './filter-error';
import { parseIsoDate, type IsoInstant } from './iso-date';

export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export const FILTER_LIMITS = Object.freeze({
  /** UTF-8 bytes of JSON.stringify(filter). */
  maxEncodedBytes: 64 * 1024,
  /** Nested logical operators ($and/$or/$not) inside one another. */
  maxNestingDepth: 10,
  /** Field operators in the whole filter, shorthand equalities included. */
  maxConditions: 100,
  maxInItems: 1000,
  maxPathSegments: 8,
  /**
   * Nesting of an operand value such as `{$eq: [[[...]]]}`. Not a product limit but a guard: without it
   * a 64 KiB operand could nest ~30k deep and exhaust PostgreSQL's stack while parsing the jsonb.
   */
  maxValueDepth: 32,
});

export type RangeOperator = '$gt' | '$gte' | '$lt' | '$lte';

export type RangeOperand =
  { type: 'number'; value: number } | { type: 'date'; normalised: string; instant: IsoInstant };

/** Validated form of a filter; both the SQL compiler and the evaluator work from this, never the raw input. */
export type FilterNode =
  | { kind: 'all' }
  | { kind: 'and' | 'or'; children: FilterNode[] }
  | { kind: 'not'; child: FilterNode }
  | { kind: '$eq' | '$ne'; path: string[]; value: JsonValue }
  | { kind: '$in' | '$nin'; path: string[]; values: JsonValue[] }
  | { kind: RangeOperator; path: string[]; operand: RangeOperand };

const PATH_SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// jsonb cannot store U+0000, and a lone surrogate would make PostgreSQL reject the whole query.
function isUnstorable(text: string): boolean {
  return text.includes('\u0000') || LONE_SURROGATE.test(text);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'a non-plain object' : `a ${typeof value}`;
}

function checkSize(filter: unknown): void {
  let encoded: string | undefined;
  try {
    encoded = JSON.stringify(filter);
  } catch {
    // Cycles, BigInt, or nesting deep enough to overflow the stack: none can come from parsed JSON.
    throw new FilterError('', 'filter is not JSON-serialisable');
  }
  if (encoded !== undefined && Buffer.byteLength(encoded, 'utf8') > FILTER_LIMITS.maxEncodedBytes) {
    throw new FilterError(
      '',
      `filter exceeds ${FILTER_LIMITS.maxEncodedBytes} bytes when JSON-encoded`,
    );
  }
}

/** Throws unless `value` is JSON data that PostgreSQL's jsonb can hold. Iterative so depth cannot blow the stack. */
function checkJsonValue(value: unknown, path: string): asserts value is JsonValue {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path, depth: 1 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const v = item.value;
    if (v === null || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new FilterError(item.path, 'non-finite number');
      continue;
    }
    if (typeof v === 'string') {
      if (isUnstorable(v)) {
        throw new FilterError(item.path, 'string contains NUL or an unpaired surrogate');
      }
      continue;
    }
    const isArray = Array.isArray(v);
    if (!isArray && !isPlainObject(v)) {
      throw new FilterError(item.path, `expected a JSON value, got ${describe(v)}`);
    }
    if (item.depth >= FILTER_LIMITS.maxValueDepth) {
      throw new FilterError(
        item.path,
        `value nested deeper than ${FILTER_LIMITS.maxValueDepth} levels`,
      );
    }
    if (isArray) {
      const array = v as unknown[];
      // Index loop rather than forEach so holes in sparse arrays are seen (as undefined) and refused.
      for (let i = 0; i < array.length; i++) {
        stack.push({ value: array[i], path: `${item.path}[${i}]`, depth: item.depth + 1 });
      }
    } else {
      for (const [key, child] of Object.entries(v)) {
        if (isUnstorable(key)) {
          throw new FilterError(item.path, 'object key contains NUL or an unpaired surrogate');
        }
        stack.push({ value: child, path: join(item.path, key), depth: item.depth + 1 });
      }
    }
  }
}

interface ParseState {
  conditions: number;
}

function countCondition(state: ParseState, path: string): void {
  state.conditions += 1;
  if (state.conditions > FILTER_LIMITS.maxConditions) {
    throw new FilterError(path, `filter has more than ${FILTER_LIMITS.maxConditions} conditions`);
  }
}

function parseFieldPath(key: string, path: string): string[] {
  const segments = key.split('.');
  if (segments.length > FILTER_LIMITS.maxPathSegments) {
    throw new FilterError(
      path,
      `field path has more than ${FILTER_LIMITS.maxPathSegments} segments`,
    );
  }
  if (!segments.every((s) => PATH_SEGMENT.test(s))) {
    throw new FilterError(
      path,
      'bad field path: dot-separated segments of 1-64 characters from [A-Za-z0-9_-] expected',
    );
  }
  return segments;
}

function parseRangeOperand(operand: unknown, path: string): RangeOperand {
  if (typeof operand === 'number') {
    if (!Number.isFinite(operand)) throw new FilterError(path, 'non-finite number');
    return { type: 'number', value: operand };
  }
  if (typeof operand === 'string') {
    const date = parseIsoDate(operand);
    if (date === null) {
      throw new FilterError(
        path,
        'expected a number or an ISO 8601 date (YYYY-MM-DD) or date-time with Z or ±HH:MM offset',
      );
    }
    return { type: 'date', normalised: date.normalised, instant: date.instant };
  }
  throw new FilterError(
    path,
    `expected a number or an ISO 8601 date string, got ${describe(operand)}`,
  );
}

function parseOperator(
  op: string,
  operand: unknown,
  segments: string[],
  path: string,
  state: ParseState,
): FilterNode {
  switch (op) {
    case '$eq':
    case '$ne':
      checkJsonValue(operand, path);
      countCondition(state, path);
      return { kind: op, path: segments, value: operand };
    case '$in':
    case '$nin': {
      if (!Array.isArray(operand)) {
        throw new FilterError(path, `expected an array, got ${describe(operand)}`);
      }
      if (operand.length === 0 || operand.length > FILTER_LIMITS.maxInItems) {
        throw new FilterError(path, `expected 1 to ${FILTER_LIMITS.maxInItems} values`);
      }
      const values: JsonValue[] = [];
      for (let i = 0; i < operand.length; i++) {
        const item: unknown = operand[i];
        checkJsonValue(item, `${path}[${i}]`);
        values.push(item);
      }
      countCondition(state, path);
      return { kind: op, path: segments, values };
    }
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte': {
      const parsed = parseRangeOperand(operand, path);
      countCondition(state, path);
      return { kind: op, path: segments, operand: parsed };
    }
    default:
      throw new FilterError(path, `unknown operator ${op}`);
  }
}

function parseField(key: string, value: unknown, path: string, state: ParseState): FilterNode {
  const segments = parseFieldPath(key, path);
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    const operatorKeys = keys.filter((k) => k.startsWith('$'));
    if (operatorKeys.length > 0) {
      if (operatorKeys.length !== keys.length) {
        throw new FilterError(
          path,
          'cannot mix $operators and plain keys; use {"$eq": {...}} to match an object literally',
        );
      }
      const nodes = keys.map((op) => parseOperator(op, value[op], segments, join(path, op), state));
      return nodes.length === 1 ? nodes[0] : { kind: 'and', children: nodes };
    }
  }
  // Anything else, including {} and objects without $-keys, is shorthand for equality.
  if (value === undefined) throw new FilterError(path, 'expected a JSON value, got undefined');
  checkJsonValue(value, path);
  countCondition(state, path);
  return { kind: '$eq', path: segments, value };
}

function parseSubFilters(
  operand: unknown,
  path: string,
  depth: number,
  state: ParseState,
): FilterNode[] {
  if (!Array.isArray(operand)) {
    throw new FilterError(path, `expected a non-empty array of filters, got ${describe(operand)}`);
  }
  if (operand.length === 0) throw new FilterError(path, 'expected a non-empty array of filters');
  const children: FilterNode[] = [];
  for (let i = 0; i < operand.length; i++) {
    children.push(parseObject(operand[i], `${path}[${i}]`, depth, state));
  }
  return children;
}

function parseObject(filter: unknown, path: string, depth: number, state: ParseState): FilterNode {
  if (!isPlainObject(filter)) {
    throw new FilterError(path, `filter must be a JSON object, got ${describe(filter)}`);
  }
  const nodes: FilterNode[] = [];
  for (const key of Object.keys(filter)) {
    const value = filter[key];
    const keyPath = join(path, key);
    if (!key.startsWith('$')) {
      nodes.push(parseField(key, value, keyPath, state));
      continue;
    }
    if (key !== '$and' && key !== '$or' && key !== '$not') {
      throw new FilterError(keyPath, `unknown operator ${key}`);
    }
    if (depth >= FILTER_LIMITS.maxNestingDepth) {
      throw new FilterError(
        keyPath,
        `logical operators nested deeper than ${FILTER_LIMITS.maxNestingDepth} levels`,
      );
    }
    if (key === '$not') {
      nodes.push({ kind: 'not', child: parseObject(value, keyPath, depth + 1, state) });
    } else {
      const children = parseSubFilters(value, keyPath, depth + 1, state);
      nodes.push(
        children.length === 1 ? children[0] : { kind: key === '$and' ? 'and' : 'or', children },
      );
    }
  }
  if (nodes.length === 0) return { kind: 'all' };
  return nodes.length === 1 ? nodes[0] : { kind: 'and', children: nodes };
}

/** Validates an untrusted filter and returns its normalised tree, or throws FilterError. */
export function parseFilter(filter: unknown): FilterNode {
  checkSize(filter);
  return parseObject(filter, '', 0, { conditions: 0 });
}
