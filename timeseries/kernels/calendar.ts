/**
 * Bucket grids for time-based windows: where window `k` starts and ends, in µs since the epoch.
 *
 * Two kinds of grid, chosen from the stride (`every`):
 *
 * - **Fixed** (a stride with no calendar part, e.g. `1s`, `5m`, `36h`; or any stride with
 *   `first_observation` alignment): window k starts at `anchor + k·every` and ends `period` later.
 *   With a time zone the grid is uniform in UTC and anchored at the zone's *standard* (non-DST)
 *   offset, as QuestDB does for sub-day strides: `4h` buckets in America/New_York start at 00:00,
 *   04:00, … local standard time (05:00Z, 09:00Z, …) all year; at fall-back the repeated local hour
 *   is two buckets, at spring-forward the skipped hour has none.
 * - **Calendar** (`n d`, `n w`, `n mo`, also `q`/`y` which are months): windows follow the local
 *   calendar of the zone, so a day is 23, 24 or 25 hours. Unit `u` is counted from 1970-01-01
 *   (days), Monday 1970-01-05 (weeks) or January 1970 (months) and aligned to multiples of `n`, as
 *   Polars truncates. Window k = [local(unit(k) + offset), local(unit(k) + period + offset)), where
 *   the period's and offset's calendar parts shift the local date and their fixed parts the local
 *   wall clock. Local times that do not exist (spring-forward gap) move forward by the gap; local
 *   times that occur twice (fall-back) take the first occurrence.
 *
 * Luxon is only used to read a zone's UTC offsets at boundaries, never per row.
 */
import { IANAZone } from 'luxon';
import { type Duration, parseDuration } from '../../config/units.ts';
import { PolaroidError } from '../../pipeline/errors.ts';

const DAY_US = 86_400e6;
const MIN_US = 60e6;
/** 1970-01-05 was the first Monday after the epoch. */
const FIRST_MONDAY_DAYS = 4;

export type StrideUnit = 'fixed' | 'day' | 'week' | 'month';

/** A window stride: a fixed number of µs, or n local days, weeks or months. */
export interface Stride {
  unit: StrideUnit;
  /** µs for `fixed`, otherwise the number of days, weeks or months. */
  n: number;
  text: string;
}

/** A configuration error in window options (bad duration, unknown zone, impossible combination). */
export class WindowConfigError extends PolaroidError {
  readonly code = 'WINDOW_CONFIG';
  readonly retriable = false;
}

/** Parse a duration or throw a {@link WindowConfigError} naming the option. */
export function requireDuration(text: string, option: string, allowNegative = false): Duration {
  const trimmed = text.trim();
  const negative = allowNegative && trimmed.startsWith('-');
  const d = parseDuration(negative ? trimmed.slice(1) : trimmed);
  if (!d) throw new WindowConfigError(`${option}: "${text}" is not a duration (e.g. 1m, 1h, 1d, 1w, 1mo)`);
  if (negative) return { months: -d.months, days: -d.days, micros: -d.micros, text: trimmed };
  return d;
}

/** Parse a stride (`every`): fixed, or a whole number of days, weeks or months. */
export function parseStride(text: string, option = 'every'): Stride {
  const d = requireDuration(text, option);
  const hasFixed = d.micros !== 0;
  if (d.months !== 0) {
    if (d.days !== 0 || hasFixed)
      throw new WindowConfigError(`${option}: "${text}" mixes months with other units; use months only`);
    return { unit: 'month', n: d.months, text };
  }
  if (d.days !== 0) {
    if (hasFixed)
      throw new WindowConfigError(
        `${option}: "${text}" mixes calendar days with hours/minutes; write it in hours (e.g. 36h)`,
      );
    if (/^\s*(\d+w)+\s*$/.test(text)) return { unit: 'week', n: d.days / 7, text };
    return { unit: 'day', n: d.days, text };
  }
  if (d.micros <= 0) throw new WindowConfigError(`${option}: "${text}" must be positive`);
  return { unit: 'fixed', n: d.micros, text };
}

/** A duration as fixed µs where a day is 24 h and a week 168 h; months are refused. */
export function fixedLength(d: Duration, option: string): number {
  if (d.months !== 0)
    throw new WindowConfigError(`${option}: "${d.text}" has months, which have no fixed length here`);
  return d.micros + d.days * DAY_US;
}

/** Resolve an IANA zone name (or `UTC`); throws a {@link WindowConfigError} when unknown. */
export function resolveZone(name: string | undefined): IANAZone | undefined {
  if (name === undefined || name === 'UTC' || name === 'Etc/UTC') return undefined;
  const z = IANAZone.create(name);
  if (!z.isValid) throw new WindowConfigError(`time_zone: "${name}" is not an IANA time zone`);
  return z;
}

/**
 * The zone's standard UTC offset in µs (positive east) for the year of `refUs`: the smaller of
 * its January and July offsets, so it is the non-DST offset in both hemispheres.
 */
export function standardOffsetUs(zone: IANAZone | undefined, refUs: number): number {
  if (!zone) return 0;
  const year = new Date(Number.isFinite(refUs) ? refUs / 1000 : 0).getUTCFullYear();
  const jan = zone.offset(Date.UTC(year, 0, 1));
  const jul = zone.offset(Date.UTC(year, 6, 1));
  return Math.min(jan, jul) * MIN_US;
}

/**
 * Local wall-clock µs (as if UTC) → the UTC instant in µs. Gap times move forward by the gap;
 * ambiguous times take the first occurrence.
 */
export function localToUtc(zone: IANAZone | undefined, localUs: number): number {
  if (!zone) return localUs;
  const ms = Math.floor(localUs / 1000);
  const rest = localUs - ms * 1000;
  const before = zone.offset(ms - 14 * 3_600_000);
  const after = zone.offset(ms + 14 * 3_600_000);
  const a = ms - before * 60_000;
  const b = ms - after * 60_000;
  const aOk = zone.offset(a) === before;
  const bOk = zone.offset(b) === after;
  let utc: number;
  if (aOk && bOk) utc = Math.min(a, b);
  else if (aOk) utc = a;
  else if (bOk) utc = b;
  else utc = a;
  return utc * 1000 + rest;
}

/** Add a duration to a local wall-clock time: months and days on the calendar, the rest on the clock. */
export function addLocal(localUs: number, d: Duration, sign = 1): number {
  let t = localUs;
  if (d.months !== 0) {
    const ms = Math.floor(t / 1000);
    const rest = t - ms * 1000;
    const date = new Date(ms);
    const y = date.getUTCFullYear();
    const m = date.getUTCMonth() + sign * d.months;
    const day = date.getUTCDate();
    const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
    const tod = ms - Date.UTC(y, date.getUTCMonth(), day);
    t = (Date.UTC(y, m, Math.min(day, lastDay)) + tod) * 1000 + rest;
  }
  return t + sign * (d.days * DAY_US + d.micros);
}

/**
 * Where windows start and end. `locate(t)` is the largest k whose window starts at or before t;
 * `start` and `end` are non-decreasing in k.
 */
export interface Grid {
  readonly kind: 'fixed' | 'calendar';
  locate(t: number): number;
  start(k: number): number;
  end(k: number): number;
  /** The shortest distance between consecutive starts (µs), for sizing state. */
  readonly minStep: number;
  /** The longest window (µs). */
  readonly maxPeriod: number;
}

/** Windows [anchor + k·every, anchor + k·every + period). */
export class FixedGrid implements Grid {
  readonly kind = 'fixed';
  readonly minStep: number;
  readonly maxPeriod: number;
  constructor(
    readonly every: number,
    readonly period: number,
    readonly anchor: number,
  ) {
    this.minStep = every;
    this.maxPeriod = period;
  }

  locate(t: number): number {
    const every = this.every;
    const anchor = this.anchor;
    let k = Math.floor((t - anchor) / every);
    if (anchor + k * every > t) k--;
    else if (anchor + (k + 1) * every <= t) k++;
    return k;
  }

  start(k: number): number {
    return this.anchor + k * this.every;
  }

  end(k: number): number {
    return this.anchor + k * this.every + this.period;
  }
}

/** Local wall-clock µs of the start of calendar unit `u` (days, weeks or months since 1970). */
function unitStartLocal(unit: StrideUnit, u: number): number {
  if (unit === 'day') return u * DAY_US;
  if (unit === 'week') return (FIRST_MONDAY_DAYS + 7 * u) * DAY_US;
  const y = 1970 + Math.floor(u / 12);
  const m = u - (y - 1970) * 12;
  return Date.UTC(y, m, 1) * 1000;
}

/** Approximate unit length in µs, for estimating k from a time. */
function unitLength(unit: StrideUnit): number {
  return unit === 'day' ? DAY_US : unit === 'week' ? 7 * DAY_US : 30.436875 * DAY_US;
}

/** Calendar windows in a zone; boundaries are computed per range of k and cached. */
export class CalendarGrid implements Grid {
  readonly kind = 'calendar';
  readonly minStep: number;
  readonly maxPeriod: number;
  private lo = 0;
  private starts = new Float64Array(0);
  private ends = new Float64Array(0);

  constructor(
    readonly stride: Stride,
    readonly period: Duration,
    readonly offset: Duration,
    readonly zone: IANAZone | undefined,
  ) {
    const unitUs = unitLength(stride.unit);
    const dstSlack = zone ? 2 * 3_600e6 : 0;
    const minUnit = stride.unit === 'month' ? 28 * DAY_US : unitUs;
    this.minStep = stride.n * minUnit - dstSlack;
    this.maxPeriod = period.months * 31 * DAY_US + period.days * DAY_US + period.micros + dstSlack;
  }

  private compute(k: number): [number, number] {
    const base = unitStartLocal(this.stride.unit, k * this.stride.n);
    const s = localToUtc(this.zone, addLocal(base, this.offset));
    const e = localToUtc(this.zone, addLocal(addLocal(base, this.period), this.offset));
    return [s, e];
  }

  /** Make sure windows lo..hi are in the cache (grows it to cover at least that range). */
  private cover(lo: number, hi: number): void {
    const curHi = this.lo + this.starts.length - 1;
    if (this.starts.length > 0 && lo >= this.lo && hi <= curHi) return;
    let newLo = this.starts.length ? Math.min(lo, this.lo) : lo;
    let newHi = this.starts.length ? Math.max(hi, curHi) : hi;
    const span = newHi - newLo + 1;
    if (this.starts.length) {
      if (newLo < this.lo) newLo = Math.min(newLo, this.lo - span);
      if (newHi > curHi) newHi = Math.max(newHi, curHi + span);
    }
    const n = newHi - newLo + 1;
    const starts = new Float64Array(n);
    const ends = new Float64Array(n);
    for (let k = newLo; k <= newHi; k++) {
      const i = k - newLo;
      const old = k - this.lo;
      if (old >= 0 && old < this.starts.length) {
        starts[i] = this.starts[old];
        ends[i] = this.ends[old];
      } else {
        const [s, e] = this.compute(k);
        starts[i] = s;
        ends[i] = e;
      }
    }
    this.lo = newLo;
    this.starts = starts;
    this.ends = ends;
  }

  /** Precompute the windows overlapping [fromUs, toUs] (a batch's time range). */
  prepare(fromUs: number, toUs: number): void {
    this.locate(fromUs);
    this.locate(toUs);
  }

  locate(t: number): number {
    const per = this.stride.n * unitLength(this.stride.unit);
    const guess = Math.floor(t / per);
    const reach = Math.ceil(this.maxPeriod / this.minStep) + 2;
    this.cover(guess - reach - 2, guess + 3);
    let lo = 0;
    let hi = this.starts.length - 1;
    while (this.starts[lo] > t) {
      this.cover(this.lo - 8, this.lo);
      hi = this.starts.length - 1;
    }
    while (this.starts[hi] <= t) {
      this.cover(this.lo, this.lo + this.starts.length + 8);
      hi = this.starts.length - 1;
    }
    const s = this.starts;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (s[mid] <= t) lo = mid;
      else hi = mid;
    }
    return this.lo + lo;
  }

  start(k: number): number {
    this.cover(k, k);
    return this.starts[k - this.lo];
  }

  end(k: number): number {
    this.cover(k, k);
    return this.ends[k - this.lo];
  }
}

export type Align = 'calendar' | 'first_observation';

export interface GridOptions {
  every: string;
  /** Defaults to `every`. */
  period?: string;
  /** Defaults to 0; ignored with `first_observation`. */
  offset?: string;
  align?: Align;
  /** IANA zone; default UTC. */
  timeZone?: string;
}

/** Check the options without data (config validation). */
export function validateGridOptions(o: GridOptions): void {
  const stride = parseStride(o.every);
  const zone = resolveZone(o.timeZone);
  void zone;
  const period = requireDuration(o.period ?? o.every, 'period');
  const offset = requireDuration(o.offset ?? '0s', 'offset', true);
  if (o.align === 'first_observation') {
    if (stride.unit === 'month')
      throw new WindowConfigError(
        'every: months cannot be aligned to the first observation; use align: calendar',
      );
    fixedLength(period, 'period');
  } else if (stride.unit === 'fixed') {
    fixedLength(period, 'period');
    fixedLength(offset, 'offset');
  }
  if (period.months === 0 && period.days === 0 && period.micros <= 0)
    throw new WindowConfigError(`period: "${period.text}" must be positive`);
}

/**
 * Build the grid. `firstUs` is the first event time seen: the anchor for `first_observation`,
 * and the year whose standard offset anchors fixed strides in a zone.
 */
export function makeGrid(o: GridOptions, firstUs: number): Grid {
  validateGridOptions(o);
  const stride = parseStride(o.every);
  const zone = resolveZone(o.timeZone);
  const period = requireDuration(o.period ?? o.every, 'period');
  const offset = requireDuration(o.offset ?? '0s', 'offset', true);
  if (o.align === 'first_observation') {
    const every = stride.unit === 'fixed' ? stride.n : stride.n * (stride.unit === 'week' ? 7 : 1) * DAY_US;
    return new FixedGrid(every, fixedLength(period, 'period'), firstUs);
  }
  if (stride.unit === 'fixed') {
    const every = stride.n;
    const anchor = fixedLength(offset, 'offset') - standardOffsetUs(zone, firstUs);
    const a = anchor - Math.floor(anchor / every) * every;
    return new FixedGrid(every, fixedLength(period, 'period'), a);
  }
  if (!zone && stride.unit !== 'month' && period.months === 0 && offset.months === 0) {
    const unitDays = stride.unit === 'week' ? 7 : 1;
    const every = stride.n * unitDays * DAY_US;
    const base = stride.unit === 'week' ? FIRST_MONDAY_DAYS * DAY_US : 0;
    const anchor = base + fixedLength(offset, 'offset');
    const a = anchor - Math.floor(anchor / every) * every;
    return new FixedGrid(every, fixedLength(period, 'period'), a);
  }
  return new CalendarGrid(stride, period, offset, zone);
}
