/**
 * Validation of vector payloads, done by hand rather than by class-validator: a batch can hold
 * millions of numbers, and each problem must name the exact item and position.
 */

export const MAX_BATCH = 1000;
export const MAX_ID_LENGTH = 512;
export const MAX_METADATA_BYTES = 40 * 1024;
const FLOAT32_MAX = 3.4028234663852886e38;

export type VectorProblem =
  | { kind: 'dimension'; path: string; expected: number; actual: number }
  | { kind: 'value'; path: string }
  | { kind: 'zero'; path: string }
  | { kind: 'id'; path: string; message: string }
  | { kind: 'duplicate'; path: string; id: string }
  | { kind: 'metadata'; path: string; message: string }
  | { kind: 'too_many'; path: string; count: number; limit: number }
  | { kind: 'empty'; path: string }
  | { kind: 'shape'; path: string; message: string };

export interface VectorInput {
  id: string;
  values: number[];
  metadata: Record<string, unknown>;
}

/** Checks a query or stored vector: right length, finite float32 values, non-zero for cosine. */
export function checkValues(
  values: unknown,
  dimension: number,
  requireNonZero: boolean,
  path: string,
): VectorProblem | null {
  if (!Array.isArray(values)) return { kind: 'value', path };
  if (values.length !== dimension)
    return { kind: 'dimension', path, expected: dimension, actual: values.length };
  let nonZero = false;
  for (let i = 0; i < values.length; i++) {
    const v: unknown = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > FLOAT32_MAX)
      return { kind: 'value', path: `${path}[${i}]` };
    if (v !== 0) nonZero = true;
  }
  if (requireNonZero && !nonZero) return { kind: 'zero', path };
  return null;
}

export function checkId(id: unknown, path: string): VectorProblem | null {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
    return { kind: 'id', path, message: `must be a string of 1 to ${MAX_ID_LENGTH} characters` };
  }
  // Postgres text cannot hold NUL; other control characters only cause trouble downstream.
  if (/\p{Cc}/u.test(id))
    return { kind: 'id', path, message: 'must not contain control characters' };
  return null;
}

/** Metadata is a JSON object, at most 40 KiB, with no NUL in any key or string (jsonb refuses it). */
export function checkMetadata(metadata: unknown, path: string): VectorProblem | null {
  if (metadata === undefined) return null;
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    return { kind: 'metadata', path, message: 'must be a JSON object' };
  }
  const json = JSON.stringify(metadata);
  if (Buffer.byteLength(json) > MAX_METADATA_BYTES) {
    return {
      kind: 'metadata',
      path,
      message: `must serialise to at most ${MAX_METADATA_BYTES} bytes`,
    };
  }
  if (json.includes('\\u0000'))
    return { kind: 'metadata', path, message: 'must not contain NUL characters' };
  return null;
}

/** Validates a whole batch; the first problem found is returned and nothing is written. */
export function checkBatch(
  items: unknown,
  dimension: number,
  requireNonZero: boolean,
): { ok: true; vectors: VectorInput[] } | { ok: false; problem: VectorProblem } {
  if (!Array.isArray(items))
    return { ok: false, problem: { kind: 'shape', path: 'vectors', message: 'must be an array' } };
  if (items.length === 0) return { ok: false, problem: { kind: 'empty', path: 'vectors' } };
  if (items.length > MAX_BATCH) {
    return {
      ok: false,
      problem: { kind: 'too_many', path: 'vectors', count: items.length, limit: MAX_BATCH },
    };
  }
  const seen = new Set<string>();
  const vectors: VectorInput[] = [];
  for (let i = 0; i < items.length; i++) {
    const path = `vectors[${i}]`;
    const item: unknown = items[i];
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      return {
        ok: false,
        problem: { kind: 'shape', path, message: 'must be an object with id, values and metadata' },
      };
    }
    const { id, values, metadata, ...rest } = item as Record<string, unknown>;
    const unknownKey = Object.keys(rest)[0];
    if (unknownKey !== undefined) {
      return {
        ok: false,
        problem: {
          kind: 'shape',
          path: `${path}.${unknownKey}`,
          message: 'is not a known property',
        },
      };
    }
    const problem =
      checkId(id, `${path}.id`) ??
      checkValues(values, dimension, requireNonZero, `${path}.values`) ??
      checkMetadata(metadata, `${path}.metadata`);
    if (problem) return { ok: false, problem };
    if (seen.has(id as string))
      return { ok: false, problem: { kind: 'duplicate', path: `${path}.id`, id: id as string } };
    seen.add(id as string);
    vectors.push({
      id: id as string,
      values: values as number[],
      metadata: (metadata ?? {}) as Record<string, unknown>,
    });
  }
  return { ok: true, vectors };
}

/**
 * pgvector's text input format. Each value is written as the float32 that pgvector will store, in 9
 * significant digits, which name every float32 exactly; small whole numbers are written as they are.
 * That stores what the shortest form of the double (what join() wrote) stored, and is cheaper: V8
 * takes ~60 µs to find the shortest forms of a 128-dimension query and ~28 µs for this, on every
 * search, and the literal comes out about a third shorter for Postgres to parse.
 *
 * Why it stores the same: pgvector reads a value with strtof, i.e. the float32 nearest the decimal.
 * The shortest form of a double v is closer to v than any other double, so no float32 midpoint lies
 * between them and both round to the same float32, Math.fround(v), unless v is itself a midpoint
 * between two float32s. Then Math.fround breaks the tie to even while strtof rounds the 17-digit
 * decimal, which may sit on either side of it; such a value (rare: it has exactly 25 significant bits)
 * is written in its shortest form, as before.
 *
 * Callers have checked the values (checkValues): finite and within float32 range.
 */
export function toVectorLiteral(values: readonly number[]): string {
  let literal = '[';
  for (let i = 0; i < values.length; i++) {
    if (i !== 0) literal += ',';
    const v = values[i];
    const f = Math.fround(v);
    if (f !== v && v - f === Math.fround(2 * v - f) - v) {
      // v is exactly halfway between f and the float32 on its other side (both differences are exact).
      literal += String(v);
    } else if (Number.isInteger(f) && Math.abs(f) <= 2 ** 24) {
      literal += String(f);
    } else {
      literal += f.toPrecision(9);
    }
  }
  return `${literal}]`;
}
