/**
 * Kernels of the time functions of expressions (docs/expressions.md): calendar fields of
 * timestamps (`year` … `weekday`) and fixed-bucket truncation (`truncate`), over µs since the
 * epoch held in float64 (exact below 2^53 µs, years 1685 to 2255).
 *
 * Every row is plain floating-point arithmetic, exact on integers: no Date per row. The calendar
 * date of a day number is H. Hinnant's `civil_from_days` (proleptic Gregorian). A time zone is
 * read through Luxon once per UTC hour, not per row, and only per row inside an hour that holds
 * one of the zone's transitions.
 */
import { IANAZone } from 'luxon';
import { parseDuration } from '../../config/units.ts';

const DAY_US = 86_400e6;
const HOUR_US = 3_600e6;
/** 1970-01-05, the first Monday after the epoch: weeks start there (as Polars truncates). */
const FIRST_MONDAY_US = 4 * DAY_US;

export const TIME_FIELDS = ['year', 'month', 'day', 'hour', 'minute', 'second', 'weekday'] as const;
export type TimeField = (typeof TIME_FIELDS)[number];

/** Length in µs and count per day of the time-of-day fields. */
const CLOCK: Partial<Record<TimeField, [number, number]>> = {
  hour: [HOUR_US, 24],
  minute: [60e6, 60],
  second: [1e6, 60],
};

/** Which part of the date: 0 year, 1 month (1-12), 2 day of the month (1-31). */
type DatePart = 0 | 1 | 2;

/** The year, month or day of the month of the date `days` after 1970-01-01 (`civil_from_days`). */
export function civilFromDays(days: number, part: DatePart): number {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097; // day of the 400-year era, 0..146096
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100)); // from March 1st
  const mp = Math.floor((5 * doy + 2) / 153); // month from March, 0..11
  if (part === 2) return doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  if (part === 1) return month;
  return yoe + era * 400 + (month <= 2 ? 1 : 0);
}

/**
 * UTC offsets of one zone, looked up once per UTC hour: an hour whose first and last millisecond
 * have the same offset is taken to have it throughout; one that holds a transition (they fall on
 * the half hour in some zones) is looked up per row.
 */
export class ZoneOffsets {
  private hour = Number.NaN;
  /** Offset of `hour` in µs, NaN when it holds a transition. */
  private offset = 0;
  private readonly hours = new Map<number, number>();

  constructor(readonly zone: IANAZone) {}

  private at(ms: number): number {
    return Math.round(this.zone.offset(ms) * 60_000) * 1000;
  }

  /** The offset (µs, positive east) of the zone at the instant `t` (µs). */
  offsetUs(t: number): number {
    const h = Math.floor(t / HOUR_US);
    if (h !== this.hour) {
      let off = this.hours.get(h);
      if (off === undefined) {
        const first = this.at(h * 3_600_000);
        off = first === this.at(h * 3_600_000 + 3_599_999) ? first : Number.NaN;
        if (this.hours.size >= 65_536) this.hours.clear();
        this.hours.set(h, off);
      }
      this.hour = h;
      this.offset = off;
    }
    return Number.isNaN(this.offset) ? this.at(Math.floor(t / 1000)) : this.offset;
  }
}

/** The zone of an IANA name, undefined for UTC (no offset); throws on an unknown name. */
export function zoneOffsets(name: string): ZoneOffsets | undefined {
  if (name === 'UTC' || name === 'Etc/UTC') return undefined;
  const zone = IANAZone.create(name);
  if (!zone.isValid) throw new Error(`"${name}" is not an IANA time zone (e.g. 'America/New_York')`);
  return new ZoneOffsets(zone);
}

/**
 * `field` of every timestamp of `v` (µs) into `out`: year; month 1-12; day 1-31; hour 0-23;
 * minute and second 0-59; ISO weekday, Monday 1 to Sunday 7. In UTC, or in `zone`'s local time.
 */
export function timeField(field: TimeField, v: Float64Array, out: Float64Array, zone?: ZoneOffsets): void {
  const n = v.length;
  const clock = CLOCK[field];
  const part: DatePart = field === 'year' ? 0 : field === 'month' ? 1 : 2;
  let lastDay = Number.NaN;
  let last = Number.NaN;
  for (let i = 0; i < n; i++) {
    const t = zone === undefined ? v[i] : v[i] + zone.offsetUs(v[i]);
    if (!Number.isFinite(t)) {
      out[i] = Number.NaN;
      continue;
    }
    const tod = floorMod(t, DAY_US);
    const day = (t - tod) / DAY_US; // exact: a whole number of days
    if (clock !== undefined) out[i] = (Math.floor(tod / clock[0]) | 0) % clock[1];
    else if (field === 'weekday')
      out[i] = (((((day | 0) + 3) % 7) + 7) % 7) + 1; // 1970-01-01 was a Thursday
    else {
      // Rows of a batch are mostly on one day: compute the date once per day.
      if (day !== lastDay) {
        lastDay = day;
        last = civilFromDays(day, part);
      }
      out[i] = last;
    }
  }
}

/**
 * t mod d rounded down, in [0, d), exact on integers below 2^53: the float quotient is off by at
 * most one, which the remainder's range corrects. (Not `%`: on floats V8 calls fmod, much slower.)
 */
function floorMod(t: number, d: number): number {
  const r = t - Math.floor(t / d) * d;
  return r < 0 ? r + d : r >= d ? r - d : r + 0; // + 0: not -0
}

/** The buckets of `truncate`: [anchor + k·every, anchor + (k + 1)·every) in µs. */
export interface Buckets {
  every: number;
  anchor: number;
}

/**
 * The buckets of `truncate(ts, text)`, or why there are none. As Polars `dt.truncate` without a
 * time zone: epoch-aligned buckets of a fixed length, a day being 24 h; whole weeks start on
 * Monday. Months (and quarters, years) have no fixed length and are refused.
 */
export function truncateBuckets(text: string): Buckets | string {
  const d = parseDuration(text);
  if (!d) return `"${text}" is not a duration (e.g. '1s', '5m', '1h', '1d', '1w')`;
  if (d.months !== 0)
    return `"${text}" has months, quarters or years, which have no fixed length; use a fixed duration (ms, s, m, h, d, w)`;
  const weeks = d.text.includes('w');
  if (weeks && !/^(\d+w)+$/.test(d.text))
    return `"${text}" mixes weeks with other units; weeks start on Monday, so use whole weeks (1w) or days (8d)`;
  const every = d.days * DAY_US + d.micros;
  if (!(every > 0)) return `"${text}" must be longer than zero`;
  return { every, anchor: weeks ? FIRST_MONDAY_US : 0 };
}

/** The start of the bucket holding each timestamp of `v` (floor: earlier, for times before 1970). */
export function truncateTo(v: Float64Array, b: Buckets, out: Float64Array): void {
  const { every, anchor } = b;
  for (let i = 0; i < v.length; i++) out[i] = v[i] - floorMod(v[i] - anchor, every);
}
