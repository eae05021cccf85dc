import 'reflect-metadata';
import { ValidationPipe } from '@nestjs/common';
import { AppValidationPipe, fastCheckOf } from '@app/common/validation/app-validation.pipe';
import { SearchDto, searchBodyCertainlyValid } from './vectors.dto';

/**
 * The search body's hand-written fast check must never accept what SearchDto's class-validator rules
 * refuse, and must yield what the pipe would. Checked against the real pipe over a generated set of
 * bodies: every field absent, valid, or replaced by a hostile value, plus unknown and prototype keys.
 */
describe('SearchDto fast check', () => {
  const pipe = new AppValidationPipe();
  const meta = { type: 'body' as const, metatype: SearchDto, data: '' };

  /** The pipe's answer without the fast path (class-validator and class-transformer only). */
  async function slow(body: unknown): Promise<{ ok: true; value: object } | { ok: false }> {
    try {
      const value = (await ValidationPipe.prototype.transform.call(
        pipe,
        structuredClone(body),
        meta,
      )) as object;
      return { ok: true, value };
    } catch {
      return { ok: false };
    }
  }

  const VALID: Record<string, unknown[]> = {
    vector: [[0.1, 0.2], [], [1, 'x']],
    topK: [1, 10, 1000],
    filter: [{}, { category: 'shoes' }, { $and: [{ a: 1 }] }],
    mode: ['auto', 'exact', 'approximate'],
    efSearch: [1, 100, 1000],
    includeValues: [true, false],
    includeMetadata: [true, false],
  };
  const HOSTILE: unknown[] = [
    null,
    0,
    -1,
    1.5,
    1001,
    '10',
    'auto ',
    'EXACT',
    true,
    [],
    [1],
    {},
    { length: 2 },
    Number.NaN,
    Number.POSITIVE_INFINITY,
  ];

  function* bodies(): Generator<unknown> {
    const fields = Object.keys(VALID);
    // Every field alone and with the required vector, with each valid and each hostile value.
    for (const f of fields) {
      for (const v of [...VALID[f], ...HOSTILE]) {
        yield { [f]: v };
        if (f !== 'vector') yield { vector: [1, 2], [f]: v };
      }
    }
    // Full valid bodies, then each one with one field broken.
    let i = 0;
    for (const topK of VALID.topK)
      for (const mode of VALID.mode)
        for (const filter of VALID.filter) {
          const full = {
            vector: [0.5, 0.25],
            topK,
            mode,
            filter,
            efSearch: VALID.efSearch[i % 3],
            includeValues: i % 2 === 0,
            includeMetadata: i % 3 === 0,
          };
          i++;
          yield full;
          for (const f of fields) yield { ...full, [f]: HOSTILE[i % HOSTILE.length] };
          yield { ...full, extra: 1 };
          yield { ...full, constructor: {} };
          yield JSON.parse(`{"vector":[1],"__proto__":{"topK":5}}`) as unknown;
        }
    yield null;
    yield [];
    yield 'vector';
    yield Object.assign(Object.create({ inherited: 1 }) as object, { vector: [1] });
  }

  it('accepts only what the pipe accepts, and yields the same body', async () => {
    let fast = 0;
    let accepted = 0;
    for (const body of bodies()) {
      const reference = await slow(body);
      if (reference.ok) accepted++;
      if (!searchBodyCertainlyValid(body)) continue;
      fast++;
      expect({ body, ok: reference.ok }).toEqual({ body, ok: true });
      const out = (await pipe.transform(structuredClone(body), meta)) as object;
      expect(out).toBeInstanceOf(SearchDto);
      expect({ ...out }).toEqual({ ...(reference as { value: object }).value });
    }
    // The pipe also accepts nulls (IsOptional lets them through) and strips `constructor` and
    // `__proto__` keys silently; the fast path leaves those to it. The plain bodies it takes.
    expect(fast).toBeGreaterThan(accepted * 0.4);
  });

  it('takes the typical search bodies', () => {
    expect(searchBodyCertainlyValid({ vector: [0.1, 0.2, 0.3], topK: 10 })).toBe(true);
    expect(
      searchBodyCertainlyValid({ vector: [1], topK: 5, filter: { a: 1 }, includeMetadata: false }),
    ).toBe(true);
    expect(fastCheckOf(SearchDto)).toBe(searchBodyCertainlyValid);
  });

  it('leaves refusals to the pipe, with its usual errors', async () => {
    expect(searchBodyCertainlyValid({ vector: [1], topK: 0 })).toBe(false);
    await expect(pipe.transform({ vector: [1], topK: 0 }, meta)).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await expect(pipe.transform({ vector: [1], extra: true }, meta)).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });
});
