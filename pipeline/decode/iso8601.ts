/**
 * A hand parser for the ISO-8601 timestamps market feeds send:
 * `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM|±HHMM)`, to µs since the epoch. `T` may also be `t` or
 * a space and `Z` may be `z`. Digits past the sixth fractional one are truncated (ns → µs). A
 * timestamp without a zone is refused: local time is ambiguous on a server. Anything else gives
 * NaN, so the caller can reject the row; no slow fallback (`Date.parse`) runs on the hot path.
 */

/** Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's `days_from_civil`). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = month > 2 ? month - 3 : month + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  if (month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) return 29;
  return DAYS_IN_MONTH[month];
}

/** Two decimal digits at `i`, or -1. */
function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  if (a < 0 || a > 9 || b < 0 || b > 9) return -1;
  return a * 10 + b;
}

/** µs since 1970-01-01T00:00:00Z, or NaN when `s` is not of the accepted form or not a real date. */
export function parseIsoMicros(s: string): number {
  const n = s.length;
  if (n < 20) return Number.NaN;
  const yHi = two(s, 0);
  const yLo = two(s, 2);
  const month = two(s, 5);
  const day = two(s, 8);
  const hour = two(s, 11);
  const minute = two(s, 14);
  const second = two(s, 17);
  if ((yHi | yLo | month | day | hour | minute | second) < 0) return Number.NaN;
  const sep = s.charCodeAt(10);
  if (
    s.charCodeAt(4) !== 45 ||
    s.charCodeAt(7) !== 45 ||
    (sep !== 84 && sep !== 116 && sep !== 32) ||
    s.charCodeAt(13) !== 58 ||
    s.charCodeAt(16) !== 58
  )
    return Number.NaN;
  const year = yHi * 100 + yLo;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return Number.NaN;
  if (hour > 23 || minute > 59 || second > 59) return Number.NaN;

  let i = 19;
  let frac = 0;
  if (s.charCodeAt(i) === 46) {
    i++;
    const start = i;
    let scale = 100_000;
    while (i < n) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      frac += d * scale;
      scale /= 10;
      i++;
    }
    const digits = i - start;
    if (digits < 1 || digits > 9) return Number.NaN;
    frac = Math.floor(frac);
  }

  let offsetMinutes = 0;
  const z = s.charCodeAt(i);
  if (z === 90 || z === 122) {
    i++;
  } else if (z === 43 || z === 45) {
    const oh = two(s, i + 1);
    let om: number;
    if (s.charCodeAt(i + 3) === 58) {
      om = two(s, i + 4);
      if (i + 6 !== n) return Number.NaN;
    } else {
      om = two(s, i + 3);
      if (i + 5 !== n) return Number.NaN;
    }
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return Number.NaN;
    offsetMinutes = (z === 45 ? -1 : 1) * (oh * 60 + om);
    i = n;
  } else return Number.NaN;
  if (i !== n) return Number.NaN;

  const days = daysFromCivil(year, month, day);
  const seconds = days * 86_400 + hour * 3600 + (minute - offsetMinutes) * 60 + second;
  return seconds * 1_000_000 + frac;
}
