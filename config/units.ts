/**
 * Durations and byte sizes as users write them in YAML (`100ms`, `1m30s`, `1mo`, `4MiB`).
 *
 * Durations follow Polars' duration strings: `ns us ms s m h d w mo q y`, combinable
 * (`3d12h4m25s`). Calendar parts (days, weeks, months, quarters, years) are kept apart from the
 * fixed part because they follow the local calendar in a time zone.
 */

/** A parsed duration: calendar months and days, plus a fixed part in microseconds. */
export interface Duration {
  months: number;
  days: number;
  /** Fixed part (ns are rounded to µs). */
  micros: number;
  /** The text it was parsed from, for messages. */
  text: string;
}

const UNIT_RE = /(\d+(?:\.\d+)?)(ns|us|µs|ms|mo|s|m|h|d|w|q|y)/y;

const FIXED_MICROS: Record<string, number> = {
  ns: 1e-3,
  us: 1,
  µs: 1,
  ms: 1e3,
  s: 1e6,
  m: 60e6,
  h: 3600e6,
};

/** Parse a duration string; returns undefined when it is not one. */
export function parseDuration(text: string): Duration | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  const d: Duration = { months: 0, days: 0, micros: 0, text: s };
  UNIT_RE.lastIndex = 0;
  let pos = 0;
  while (pos < s.length) {
    UNIT_RE.lastIndex = pos;
    const m = UNIT_RE.exec(s);
    if (!m) return undefined;
    const n = Number(m[1]);
    const unit = m[2];
    if (unit in FIXED_MICROS) d.micros += n * FIXED_MICROS[unit];
    else {
      if (!Number.isInteger(n)) return undefined;
      if (unit === 'd') d.days += n;
      else if (unit === 'w') d.days += 7 * n;
      else if (unit === 'mo') d.months += n;
      else if (unit === 'q') d.months += 3 * n;
      else if (unit === 'y') d.months += 12 * n;
    }
    pos = UNIT_RE.lastIndex;
  }
  d.micros = Math.round(d.micros);
  return d;
}

/** True when the duration has no calendar part (it is a fixed number of µs). */
export function isFixed(d: Duration): boolean {
  return d.months === 0 && d.days === 0;
}

/**
 * The duration as a fixed number of microseconds, counting a day as 24 h (UTC). Months have no
 * fixed length, so a duration with months is refused.
 */
export function fixedMicros(d: Duration): number {
  if (d.months !== 0) throw new Error(`duration "${d.text}" has months and no fixed length`);
  return d.micros + d.days * 86_400e6;
}

/** Duration in milliseconds (for timers); months are refused. */
export function durationMs(text: string): number {
  const d = parseDuration(text);
  if (!d) throw new Error(`"${text}" is not a duration (e.g. 100ms, 5s, 1m)`);
  return fixedMicros(d) / 1000;
}

const BYTES_RE = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$/;
const BYTE_FACTOR: Record<string, number> = {
  B: 1,
  KB: 1e3,
  KiB: 1024,
  MB: 1e6,
  MiB: 1024 ** 2,
  GB: 1e9,
  GiB: 1024 ** 3,
};

/** Parse a byte size (`4MiB`, `512KB`, `1000`); returns undefined when it is not one. */
export function parseBytes(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text : undefined;
  const m = BYTES_RE.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * BYTE_FACTOR[m[2] ?? 'B']);
}
