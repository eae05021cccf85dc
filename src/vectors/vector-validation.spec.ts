import {
  checkBatch,
  checkMetadata,
  checkValues,
  MAX_BATCH,
  toVectorLiteral,
} from './vector-validation';

describe('vector validation', () => {
  it('accepts a good batch and fills in empty metadata', () => {
    const r = checkBatch(
      [
        { id: 'a', values: [1, 0] },
        { id: 'b', values: [0, 1], metadata: { x: 1 } },
      ],
      2,
      true,
    );
    expect(r).toEqual({
      ok: true,
      vectors: [
        { id: 'a', values: [1, 0], metadata: {} },
        { id: 'b', values: [0, 1], metadata: { x: 1 } },
      ],
    });
  });

  it('names the item and position of a bad value', () => {
    expect(checkValues([1, NaN], 2, false, 'v')).toEqual({ kind: 'value', path: 'v[1]' });
    expect(checkValues([Infinity, 1], 2, false, 'v')).toEqual({ kind: 'value', path: 'v[0]' });
    expect(checkValues([1, '2'], 2, false, 'v')).toEqual({ kind: 'value', path: 'v[1]' });
    expect(checkValues([1e39, 1], 2, false, 'v')).toEqual({ kind: 'value', path: 'v[0]' });
    expect(checkValues([1, 2, 3], 2, false, 'v')).toEqual({
      kind: 'dimension',
      path: 'v',
      expected: 2,
      actual: 3,
    });
    expect(checkValues([0, 0], 2, true, 'v')).toEqual({ kind: 'zero', path: 'v' });
    expect(checkValues([0, 0], 2, false, 'v')).toBeNull();
  });

  it('refuses oversize, empty, duplicate and malformed batches', () => {
    const many = Array.from({ length: MAX_BATCH + 1 }, (_, i) => ({ id: `${i}`, values: [1] }));
    expect(checkBatch(many, 1, false)).toMatchObject({
      ok: false,
      problem: { kind: 'too_many', count: MAX_BATCH + 1 },
    });
    expect(checkBatch([], 1, false)).toMatchObject({ ok: false, problem: { kind: 'empty' } });
    expect(
      checkBatch(
        [
          { id: 'a', values: [1] },
          { id: 'a', values: [2] },
        ],
        1,
        false,
      ),
    ).toMatchObject({
      ok: false,
      problem: { kind: 'duplicate', path: 'vectors[1].id' },
    });
    expect(checkBatch([{ id: '', values: [1] }], 1, false)).toMatchObject({
      ok: false,
      problem: { kind: 'id' },
    });
    expect(checkBatch([{ id: 'a\u0000b', values: [1] }], 1, false)).toMatchObject({
      ok: false,
      problem: { kind: 'id' },
    });
    expect(checkBatch([{ id: 'a', values: [1], extra: 1 }], 1, false)).toMatchObject({
      ok: false,
      problem: { kind: 'shape', path: 'vectors[0].extra' },
    });
    expect(checkBatch('nope', 1, false)).toMatchObject({ ok: false });
  });

  it('checks metadata shape, size and NUL characters', () => {
    expect(checkMetadata([], 'm')).toMatchObject({ kind: 'metadata' });
    expect(checkMetadata({ a: 'x'.repeat(50_000) }, 'm')).toMatchObject({ kind: 'metadata' });
    expect(checkMetadata({ a: 'x\u0000' }, 'm')).toMatchObject({ kind: 'metadata' });
    expect(checkMetadata({ 'k\u0000': 1 }, 'm')).toMatchObject({ kind: 'metadata' });
    expect(checkMetadata({ a: [1, { b: 'c' }] }, 'm')).toBeNull();
  });

  it('writes pgvector literals', () => {
    expect(toVectorLiteral([1, -0.5, 1e-7, 3e38, -2])).toBe(
      '[1,-0.500000000,1.00000001e-7,3.00000001e+38,-2]',
    );
    expect(toVectorLiteral([])).toBe('[]');
  });

  it('writes a double halfway between two float32s in its shortest form, as strtof must decide it', () => {
    const f32 = new Float32Array(1);
    const bits = new Uint32Array(f32.buffer);
    const midpoints: number[] = [1 + 2 ** -24, -(1 + 2 ** -24), 2 ** -150, 1 + 3 * 2 ** -24];
    for (let i = 1; i < 2000; i++) {
      // Two adjacent float32s from a spread of exponents, and the double halfway between them.
      bits[0] = (i * 2_654_435_761) >>> 1;
      const low = f32[0];
      bits[0] += 1;
      const high = f32[0];
      if (Number.isFinite(high)) midpoints.push((low + high) / 2);
    }
    const parts = toVectorLiteral(midpoints).slice(1, -1).split(',');
    expect(parts).toEqual(midpoints.map((v) => String(v)));
    // And only those: a value one double away from a midpoint takes the float32 form.
    const near = 1 + 2 ** -24 + 2 ** -52;
    expect(toVectorLiteral([near])).toBe(`[${Math.fround(near).toPrecision(9)}]`);
  });

  it('writes each value so that it reads back as the float32 nearest the double', () => {
    let seed = 42;
    const random = () => {
      // xorshift32: reproducible without a dependency
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const values: number[] = [0, -0, 0.1, 1 / 3, 1e-45, 1.17549435e-38, 3.4028234663852886e38];
    for (let i = 0; i < 20_000; i++) {
      const magnitude = 10 ** Math.floor(random() * 76 - 38);
      values.push((random() * 2 - 1) * magnitude);
    }
    const text = toVectorLiteral(values);
    const parts = text.slice(1, -1).split(',');
    expect(parts).toHaveLength(values.length);
    // Read as pgvector does (strtof: the float32 nearest the decimal).
    const wrong = parts.filter(
      (part, i) =>
        !/^-?\d+(\.\d+)?(e[+-]\d+)?$/.test(part) ||
        Math.fround(Number(part)) !== Math.fround(values[i]),
    );
    expect(wrong).toEqual([]);
    // Shorter than the doubles' shortest forms: the float32 needs no more than 9 digits.
    expect(text.length).toBeLessThan(values.join(',').length * 0.75);
  });
});
