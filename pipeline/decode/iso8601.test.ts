import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { daysFromCivil, parseIsoMicros } from './iso8601.ts';

describe('daysFromCivil', () => {
  it('agrees with Date.UTC across leap years and centuries', () => {
    for (const [y, m, d] of [
      [1970, 1, 1],
      [1969, 12, 31],
      [2000, 2, 29],
      [1900, 3, 1],
      [2024, 12, 31],
      [1, 1, 1],
      [9999, 12, 31],
    ]) {
      const date = new Date(0);
      date.setUTCFullYear(y, m - 1, d);
      expect(daysFromCivil(y, m, d)).toBe(Math.floor(date.getTime() / 86_400_000));
    }
  });
});

describe('parseIsoMicros', () => {
  it('reads UTC timestamps with 0 to 9 fractional digits, truncating below µs', () => {
    const base = Date.UTC(2024, 0, 2, 3, 4, 5) * 1000;
    expect(parseIsoMicros('2024-01-02T03:04:05Z')).toBe(base);
    expect(parseIsoMicros('2024-01-02T03:04:05.1Z')).toBe(base + 100_000);
    expect(parseIsoMicros('2024-01-02T03:04:05.123Z')).toBe(base + 123_000);
    expect(parseIsoMicros('2024-01-02T03:04:05.123456Z')).toBe(base + 123_456);
    expect(parseIsoMicros('2024-01-02T03:04:05.123456789Z')).toBe(base + 123_456);
    expect(parseIsoMicros('2024-01-02T03:04:05.999999999Z')).toBe(base + 999_999);
  });

  it('applies ±HH:MM and ±HHMM offsets', () => {
    const utc = Date.UTC(2024, 5, 30, 12, 0, 0) * 1000;
    expect(parseIsoMicros('2024-06-30T17:30:00+05:30')).toBe(utc);
    expect(parseIsoMicros('2024-06-30T17:30:00+0530')).toBe(utc);
    expect(parseIsoMicros('2024-06-30T04:00:00.000-08:00')).toBe(utc);
    expect(parseIsoMicros('2024-06-30T12:00:00+00:00')).toBe(utc);
    expect(parseIsoMicros('2024-07-01T00:30:00+12:30')).toBe(utc);
  });

  it('accepts a lower-case t and z and a space separator', () => {
    const utc = Date.UTC(2023, 10, 14, 22, 13, 20) * 1000;
    expect(parseIsoMicros('2023-11-14t22:13:20z')).toBe(utc);
    expect(parseIsoMicros('2023-11-14 22:13:20Z')).toBe(utc);
  });

  it('handles dates before 1970 and leap days', () => {
    expect(parseIsoMicros('1969-12-31T23:59:59.5Z')).toBe(-500_000);
    expect(parseIsoMicros('2000-02-29T00:00:00Z')).toBe(Date.UTC(2000, 1, 29) * 1000);
  });

  it.each([
    ['no zone', '2024-01-02T03:04:05'],
    ['date only', '2024-01-02'],
    ['month 13', '2024-13-02T03:04:05Z'],
    ['day 0', '2024-01-00T03:04:05Z'],
    ['30 February', '2024-02-30T03:04:05Z'],
    ['29 February of a common year', '2023-02-29T03:04:05Z'],
    ['hour 24', '2024-01-02T24:00:00Z'],
    ['second 60', '2024-01-02T23:59:60Z'],
    ['ten fractional digits', '2024-01-02T03:04:05.1234567890Z'],
    ['a point without digits', '2024-01-02T03:04:05.Z'],
    ['trailing text', '2024-01-02T03:04:05Z garbage'],
    ['an offset hour of 24', '2024-01-02T03:04:05+24:00'],
    ['a short offset', '2024-01-02T03:04:05+05'],
    ['slashes', '2024/01/02T03:04:05Z'],
    ['letters in the year', '20x4-01-02T03:04:05Z'],
    ['an empty string', ''],
  ])('rejects %s', (_what, text) => {
    expect(parseIsoMicros(text)).toBeNaN();
  });

  it('round-trips every millisecond instant Date can print', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_999 }), (ms) => {
        expect(parseIsoMicros(new Date(ms).toISOString())).toBe(ms * 1000);
      }),
      { numRuns: 2000 },
    );
  });
});
