/**
 * Strict ISO 8601 date / date-time recognition shared by the SQL compiler (operands) and the in-memory
 * evaluator (stored values). Deliberately narrower than what PostgreSQL or `Date` would accept, so that
 * both sides agree on exactly which strings are dates; the DB side is quiver_try_timestamptz in the TenantIsolation migration.
 */

/** An instant split so that microsecond precision (PostgreSQL's) survives beyond what a double holds. */
export interface IsoInstant {
  epochMs: number;
  /** Microseconds within the millisecond, 0..999. */
  micros: number;
}

export interface IsoDate {
  /** Always `YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|±HH:MM)`, readable by PostgreSQL regardless of TimeZone/DateStyle. */
  normalised: string;
  instant: IsoInstant;
}

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(?:(Z)|([+-])(\d{2}):(\d{2})))?$/;

// PostgreSQL refuses UTC offsets beyond ±15:59 ("time zone displacement out of range").
const MAX_OFFSET_HOURS = 15;

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

export function parseIsoDate(text: string): IsoDate | null {
  // Longest valid form is 32 chars; bail out before running the regex on something huge.
  if (text.length > 32) return null;
  const m = ISO_DATE.exec(text);
  if (m === null) return null;
  const [, ys, mos, ds, hs, mis, ss, frac, zulu, sign, ohs, oms] = m;
  const year = Number(ys);
  const month = Number(mos);
  const day = Number(ds);
  // Year 0 does not exist for PostgreSQL, and 24:00 / leap seconds are spelled differently by each side.
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  const hour = hs === undefined ? 0 : Number(hs);
  const minute = mis === undefined ? 0 : Number(mis);
  const second = ss === undefined ? 0 : Number(ss);
  if (hour > 23 || minute > 59 || second > 59) return null;
  let offsetMinutes = 0;
  if (sign !== undefined) {
    const oh = Number(ohs);
    const om = Number(oms);
    if (oh > MAX_OFFSET_HOURS || om > 59) return null;
    offsetMinutes = (sign === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const fraction = (frac ?? '').padEnd(6, '0');
  const ms = Number(fraction.slice(0, 3));
  const micros = Number(fraction.slice(3));

  // Date.UTC maps years 0-99 to 1900-1999, so set the full year explicitly.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  const epochMs = date.getTime() - offsetMinutes * 60_000;

  const datePart = `${ys}-${mos}-${ds}`;
  // A bare date means midnight UTC: PostgreSQL would otherwise use the session TimeZone, JS local time.
  const normalised =
    hs === undefined
      ? `${datePart}T00:00:00Z`
      : `${datePart}T${hs}:${mis}:${ss ?? '00'}${frac === undefined ? '' : `.${frac}`}${
          zulu ?? `${sign}${ohs}:${oms}`
        }`;
  return { normalised, instant: { epochMs, micros } };
}

export function compareInstants(a: IsoInstant, b: IsoInstant): number {
  if (a.epochMs !== b.epochMs) return a.epochMs < b.epochMs ? -1 : 1;
  return a.micros === b.micros ? 0 : a.micros < b.micros ? -1 : 1;
}
