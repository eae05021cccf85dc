import { compareInstants, parseIsoDate } from './iso-date';

describe('parseIsoDate', () => {
  it.each([
    ['2024-02-29', '2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2000-02-29T23:59Z', '2000-02-29T23:59:00Z', Date.UTC(2000, 1, 29, 23, 59)],
    ['2024-01-01T00:00:00+15:59', '2024-01-01T00:00:00+15:59', Date.UTC(2023, 11, 31, 8, 1)],
    [
      '2024-01-01T10:00:00.5-01:30',
      '2024-01-01T10:00:00.5-01:30',
      Date.UTC(2024, 0, 1, 11, 30, 0, 500),
    ],
    [
      '9999-12-31T23:59:59.999999Z',
      '9999-12-31T23:59:59.999999Z',
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    ],
  ])('accepts %s', (input, normalised, epochMs) => {
    expect(parseIsoDate(input)).toEqual({
      normalised,
      instant: expect.objectContaining({ epochMs }),
    });
  });

  it('handles years before 100 without the Date.UTC 19xx mapping', () => {
    expect(parseIsoDate('0050-06-01')?.instant.epochMs).toBe(
      new Date('0050-06-01T00:00:00Z').getTime(),
    );
  });

  it('keeps sub-millisecond digits separately', () => {
    expect(parseIsoDate('2024-01-01T00:00:00.123456Z')?.instant.micros).toBe(456);
    expect(parseIsoDate('2024-01-01T00:00:00.1234Z')?.instant.micros).toBe(400);
  });

  it.each([
    '0000-01-01',
    '2023-02-29',
    '1900-02-29',
    '2024-04-31',
    '2024-13-01',
    '2024-00-10',
    '2024-1-01',
    '24-01-01',
    '+002024-01-01',
    '2024-01-01T24:00Z',
    '2024-01-01T10:60Z',
    '2024-01-01T10:00:60Z',
    '2024-01-01T10:00:00.1234567Z',
    '2024-01-01T10:00:00.Z',
    '2024-01-01T10:00:00',
    '2024-01-01T10Z',
    '2024-01-01 10:00:00Z',
    '2024-01-01t10:00:00z',
    '2024-01-01T10:00:00+16:00',
    '2024-01-01T10:00:00+05:60',
    '2024-01-01T10:00:00+0530',
    '2024-01-01Z',
    ' 2024-01-01',
    '2024-01-01\n',
    '２０２４-01-01',
    'now',
    '',
  ])('rejects %j', (input) => {
    expect(parseIsoDate(input)).toBeNull();
  });

  it('orders instants by milliseconds then microseconds', () => {
    const at = (s: string) => parseIsoDate(s)!.instant;
    expect(compareInstants(at('2024-01-01T00:00:00.000001Z'), at('2024-01-01T00:00:00Z'))).toBe(1);
    expect(compareInstants(at('2024-01-01T01:00+01:00'), at('2024-01-01'))).toBe(0);
    expect(compareInstants(at('2023-12-31T23:59:59.999999Z'), at('2024-01-01'))).toBe(-1);
  });
});
