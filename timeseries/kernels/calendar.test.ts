import { describe, expect, it } from 'vitest';
import {
  localToUtc,
  makeGrid,
  parseStride,
  resolveZone,
  validateGridOptions,
  WindowConfigError,
} from './calendar.ts';

const us = (iso: string) => Date.parse(iso) * 1000;
const iso = (t: number) => new Date(t / 1000).toISOString();

/** [start, end] of the window containing t (closed left). */
function windowOf(opts: Parameters<typeof makeGrid>[0], at: string): [string, string] {
  const t = us(at);
  const g = makeGrid(opts, t);
  const k = g.locate(t);
  return [iso(g.start(k)), iso(g.end(k))];
}

describe('window grids', () => {
  it('parses strides: fixed, days, Monday weeks, months', () => {
    expect(parseStride('90s')).toMatchObject({ unit: 'fixed', n: 90e6 });
    expect(parseStride('2d')).toMatchObject({ unit: 'day', n: 2 });
    expect(parseStride('7d')).toMatchObject({ unit: 'day', n: 7 });
    expect(parseStride('1w')).toMatchObject({ unit: 'week', n: 1 });
    expect(parseStride('1q')).toMatchObject({ unit: 'month', n: 3 });
    expect(() => parseStride('1d12h')).toThrow(/write it in hours/);
    expect(() => parseStride('1mo1d')).toThrow(WindowConfigError);
    expect(() => parseStride('soon')).toThrow(/not a duration/);
  });

  it('rejects unknown zones and months with first_observation', () => {
    expect(() => resolveZone('Mars/Olympus')).toThrow(/not an IANA time zone/);
    expect(() => validateGridOptions({ every: '1mo', align: 'first_observation' })).toThrow(
      /first observation/,
    );
    expect(() => validateGridOptions({ every: '1m', period: '1mo' })).toThrow(/months/);
  });

  it('fixed strides are epoch-aligned in UTC, with offset', () => {
    expect(windowOf({ every: '1m' }, '2024-01-02T10:17:45Z')).toEqual([
      '2024-01-02T10:17:00.000Z',
      '2024-01-02T10:18:00.000Z',
    ]);
    expect(windowOf({ every: '1h', offset: '15m' }, '2024-01-02T10:10:00Z')).toEqual([
      '2024-01-02T09:15:00.000Z',
      '2024-01-02T10:15:00.000Z',
    ]);
    expect(windowOf({ every: '1h', offset: '-15m' }, '2024-01-02T10:50:00Z')).toEqual([
      '2024-01-02T10:45:00.000Z',
      '2024-01-02T11:45:00.000Z',
    ]);
  });

  it('sub-day strides in a zone are uniform in UTC, anchored at the standard offset', () => {
    // New York standard offset is -5h: 4h buckets start at 00:00, 04:00 … EST all year.
    expect(windowOf({ every: '4h', timeZone: 'America/New_York' }, '2024-07-01T12:00:00Z')).toEqual([
      '2024-07-01T09:00:00.000Z',
      '2024-07-01T13:00:00.000Z',
    ]);
    expect(windowOf({ every: '4h', timeZone: 'America/New_York' }, '2024-01-15T12:00:00Z')).toEqual([
      '2024-01-15T09:00:00.000Z',
      '2024-01-15T13:00:00.000Z',
    ]);
    // Kolkata is +5:30: hourly buckets start at :30 UTC.
    expect(windowOf({ every: '1h', timeZone: 'Asia/Kolkata' }, '2024-01-15T12:00:00Z')).toEqual([
      '2024-01-15T11:30:00.000Z',
      '2024-01-15T12:30:00.000Z',
    ]);
  });

  it('1d follows local days across DST in New York (23 h and 25 h days)', () => {
    const ny = { every: '1d', timeZone: 'America/New_York' };
    expect(windowOf(ny, '2024-03-10T12:00:00Z')).toEqual([
      '2024-03-10T05:00:00.000Z',
      '2024-03-11T04:00:00.000Z',
    ]);
    expect(windowOf(ny, '2024-11-03T12:00:00Z')).toEqual([
      '2024-11-03T04:00:00.000Z',
      '2024-11-04T05:00:00.000Z',
    ]);
    expect(windowOf(ny, '2024-11-03T03:59:59Z')).toEqual([
      '2024-11-02T04:00:00.000Z',
      '2024-11-03T04:00:00.000Z',
    ]);
  });

  it('1d follows local days across DST in London', () => {
    const ldn = { every: '1d', timeZone: 'Europe/London' };
    expect(windowOf(ldn, '2024-03-31T12:00:00Z')).toEqual([
      '2024-03-31T00:00:00.000Z',
      '2024-03-31T23:00:00.000Z',
    ]);
    expect(windowOf(ldn, '2024-10-27T12:00:00Z')).toEqual([
      '2024-10-26T23:00:00.000Z',
      '2024-10-28T00:00:00.000Z',
    ]);
    expect(windowOf(ldn, '2024-10-26T22:59:59Z')).toEqual([
      '2024-10-25T23:00:00.000Z',
      '2024-10-26T23:00:00.000Z',
    ]);
  });

  it('1d with an offset applies it to the local wall clock', () => {
    const opts = { every: '1d', offset: '9h30m', timeZone: 'America/New_York' };
    expect(windowOf(opts, '2024-03-10T15:00:00Z')).toEqual([
      '2024-03-10T13:30:00.000Z',
      '2024-03-11T13:30:00.000Z',
    ]);
    expect(windowOf(opts, '2024-03-09T15:00:00Z')).toEqual([
      '2024-03-09T14:30:00.000Z',
      '2024-03-10T13:30:00.000Z',
    ]);
  });

  it('weeks start on Monday; months follow the calendar', () => {
    expect(windowOf({ every: '1w' }, '2024-01-03T12:00:00Z')).toEqual([
      '2024-01-01T00:00:00.000Z',
      '2024-01-08T00:00:00.000Z',
    ]);
    expect(windowOf({ every: '1w', timeZone: 'America/New_York' }, '2024-03-13T12:00:00Z')).toEqual([
      '2024-03-11T04:00:00.000Z',
      '2024-03-18T04:00:00.000Z',
    ]);
    expect(windowOf({ every: '1w', timeZone: 'America/New_York' }, '2024-03-10T12:00:00Z')).toEqual([
      '2024-03-04T05:00:00.000Z',
      '2024-03-11T04:00:00.000Z',
    ]);
    expect(windowOf({ every: '1mo' }, '2024-02-29T23:00:00Z')).toEqual([
      '2024-02-01T00:00:00.000Z',
      '2024-03-01T00:00:00.000Z',
    ]);
    expect(windowOf({ every: '1mo', timeZone: 'Europe/London' }, '2024-03-15T00:00:00Z')).toEqual([
      '2024-03-01T00:00:00.000Z',
      '2024-03-31T23:00:00.000Z',
    ]);
    expect(windowOf({ every: '1q' }, '2024-05-15T00:00:00Z')).toEqual([
      '2024-04-01T00:00:00.000Z',
      '2024-07-01T00:00:00.000Z',
    ]);
  });

  it('first_observation anchors the grid at the first time', () => {
    const g = makeGrid({ every: '1m', align: 'first_observation' }, us('2024-01-02T10:00:07Z'));
    const k = g.locate(us('2024-01-02T10:03:00Z'));
    expect(iso(g.start(k))).toBe('2024-01-02T10:02:07.000Z');
  });

  it('local times in a gap move forward; repeated ones take the first occurrence', () => {
    const ny = resolveZone('America/New_York');
    expect(iso(localToUtc(ny, us('2024-03-10T02:30:00Z')))).toBe('2024-03-10T07:30:00.000Z');
    expect(iso(localToUtc(ny, us('2024-11-03T01:30:00Z')))).toBe('2024-11-03T05:30:00.000Z');
    expect(localToUtc(undefined, 123)).toBe(123);
  });
});
