import { compareInstants, parseIsoDate } from './iso-date';
import { isPlainObject, parseFilter, type FilterNode, type JsonValue } from './parse-filter';

const MISSING = Symbol('missing');

/**
 * Mirrors PostgreSQL's `jsonb #> text[]`: on an array a segment is an index (negative counts from the
 * end; anything strtol would not fully read as an int is absent), on an object a key, on a scalar absent.
 */
function valueAt(root: unknown, path: string[]): unknown {
  let current: unknown = root;
  for (const segment of path) {
    if (Array.isArray(current)) {
      if (!/^-?[0-9]+$/.test(segment)) return MISSING;
      const index = Number(segment);
      if (index > 2147483647 || index < -2147483648) return MISSING;
      const resolved = index >= 0 ? index : current.length + index;
      if (resolved < 0 || resolved >= current.length) return MISSING;
      current = current[resolved];
    } else if (isPlainObject(current)) {
      if (!Object.prototype.hasOwnProperty.call(current, segment)) return MISSING;
      current = current[segment];
    } else {
      return MISSING;
    }
    if (current === undefined) return MISSING;
  }
  return current;
}

/** jsonb equality: numbers by value, arrays in order, objects regardless of key order. */
function jsonEqual(a: unknown, b: JsonValue): boolean {
  if (a === null || b === null || typeof b !== 'object') return a === b;
  if (Array.isArray(b)) {
    return Array.isArray(a) && a.length === b.length && b.every((item, i) => jsonEqual(a[i], item));
  }
  if (!isPlainObject(a)) return false;
  const keys = Object.keys(b);
  return (
    Object.keys(a).length === keys.length &&
    keys.every((k) => Object.prototype.hasOwnProperty.call(a, k) && jsonEqual(a[k], b[k]))
  );
}

function holds(sign: number, kind: '$gt' | '$gte' | '$lt' | '$lte'): boolean {
  switch (kind) {
    case '$gt':
      return sign > 0;
    case '$gte':
      return sign >= 0;
    case '$lt':
      return sign < 0;
    case '$lte':
      return sign <= 0;
  }
}

function evaluate(node: FilterNode, metadata: unknown): boolean {
  switch (node.kind) {
    case 'all':
      return true;
    case 'and':
      return node.children.every((c) => evaluate(c, metadata));
    case 'or':
      return node.children.some((c) => evaluate(c, metadata));
    case 'not':
      return !evaluate(node.child, metadata);
    case '$eq':
    case '$ne': {
      const v = valueAt(metadata, node.path);
      const equal = v !== MISSING && jsonEqual(v, node.value);
      return node.kind === '$eq' ? equal : !equal;
    }
    case '$in':
    case '$nin': {
      const v = valueAt(metadata, node.path);
      const found = v !== MISSING && node.values.some((item) => jsonEqual(v, item));
      return node.kind === '$in' ? found : !found;
    }
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte': {
      const v = valueAt(metadata, node.path);
      const { operand } = node;
      if (operand.type === 'number') {
        if (typeof v !== 'number') return false;
        return holds(v === operand.value ? 0 : v < operand.value ? -1 : 1, node.kind);
      }
      if (typeof v !== 'string') return false;
      const stored = parseIsoDate(v);
      return stored !== null && holds(compareInstants(stored.instant, operand.instant), node.kind);
    }
  }
}

/**
 * In-memory reference implementation of the semantics compileFilter emits as SQL, for tests that check
 * the database against brute force. Validates the filter exactly as compileFilter does (same FilterError).
 */
export function evaluateFilter(filter: unknown, metadata: Record<string, unknown>): boolean {
  return evaluate(parseFilter(filter), metadata);
}
