/**
 * Reading cells out of Arrow record batches for display: JSON values (timestamps as ISO-8601
 * with microseconds) and fixed-width table cells.
 */
import { DataType, type RecordBatch, TimeUnit, type Vector } from 'apache-arrow';

export type CellKind = 'timestamp' | 'number' | 'bigint' | 'text' | 'bool' | 'other';

/** A column prepared for reading row by row. */
export interface ColumnReader {
  name: string;
  kind: CellKind;
  /** The JSON value of row `i`. */
  json(i: number): unknown;
  /** The table text of row `i`, not padded. */
  text(i: number): string;
}

const US_PER_UNIT: Record<number, number> = {
  [TimeUnit.SECOND]: 1e6,
  [TimeUnit.MILLISECOND]: 1e3,
  [TimeUnit.MICROSECOND]: 1,
  [TimeUnit.NANOSECOND]: 1e-3,
};

/** Epoch µs as ISO-8601 UTC with six fractional digits. */
export function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const rest = Math.round(us - ms * 1000);
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, -1)}${String(rest).padStart(3, '0')}Z`;
}

/** Time of day (UTC) of epoch µs: `HH:MM:SS.ffffff`. */
export function timeOfDayMicros(us: number): string {
  return isoMicros(us).slice(11, 26);
}

/**
 * A number for a narrow column: grouped thousands; 2 decimals from 1,000 up, 4 below that, 4
 * significant digits under 0.01; an exponent when huge.
 */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? 'inf' : '-inf';
  const a = Math.abs(x);
  if (a >= 1e12) return x.toExponential(4);
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  if (a < 0.01) return String(Number(x.toPrecision(4)));
  const decimals = a >= 1000 ? 2 : 4;
  return x.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

function timestampReader(name: string, v: Vector, unit: TimeUnit): ColumnReader {
  const scale = US_PER_UNIT[unit] ?? 1;
  // A record batch column is one chunk, so its int64 values can be indexed by row.
  const values = v.data[0].values as BigInt64Array;
  const us = (i: number): number | null => (v.isValid(i) ? Number(values[i]) * scale : null);
  return {
    name,
    kind: 'timestamp',
    json: (i) => {
      const t = us(i);
      return t === null ? null : isoMicros(t);
    },
    text: (i) => {
      const t = us(i);
      return t === null ? '' : timeOfDayMicros(t);
    },
  };
}

/** A reader for each column of the batch (or only the named ones, in that order). */
export function columnReaders(batch: RecordBatch, columns?: readonly string[]): ColumnReader[] {
  const names = columns ?? batch.schema.fields.map((f) => f.name);
  const readers: ColumnReader[] = [];
  for (const name of names) {
    const v = batch.getChild(name);
    if (!v) continue;
    const type = v.type;
    if (DataType.isTimestamp(type)) {
      readers.push(timestampReader(name, v, type.unit));
    } else if (DataType.isFloat(type) || (DataType.isInt(type) && type.bitWidth < 64)) {
      readers.push({
        name,
        kind: 'number',
        json: (i) => {
          const x = v.get(i) as number | null;
          return x === null || !Number.isFinite(x) ? null : x;
        },
        text: (i) => {
          const x = v.get(i) as number | null;
          return x === null ? '' : formatNumber(x);
        },
      });
    } else if (DataType.isInt(type)) {
      const value = (i: number): number | string | null => {
        const x = v.get(i) as bigint | number | null;
        if (x === null) return null;
        const n = Number(x);
        return Number.isSafeInteger(n) ? n : String(x);
      };
      readers.push({
        name,
        kind: 'bigint',
        json: value,
        text: (i) => {
          const x = value(i);
          return x === null ? '' : typeof x === 'number' ? formatNumber(x) : x;
        },
      });
    } else if (DataType.isBool(type)) {
      readers.push({
        name,
        kind: 'bool',
        json: (i) => v.get(i) as boolean | null,
        text: (i) => {
          const b = v.get(i);
          return b === null ? '' : String(b);
        },
      });
    } else if (DataType.isUtf8(type) || DataType.isDictionary(type)) {
      readers.push({
        name,
        kind: 'text',
        json: (i) => (v.get(i) as string | null) ?? null,
        text: (i) => (v.get(i) as string | null) ?? '',
      });
    } else {
      readers.push({
        name,
        kind: 'other',
        json: (i) => {
          const x = v.get(i);
          return x === null ? null : String(x);
        },
        text: (i) => {
          const x = v.get(i);
          return x === null ? '' : String(x);
        },
      });
    }
  }
  return readers;
}

/** Fixed display width of a column kind (names longer than it widen the column). */
export function columnWidth(r: ColumnReader): number {
  const base =
    r.kind === 'timestamp'
      ? 15
      : r.kind === 'text'
        ? 10
        : r.kind === 'bool'
          ? 5
          : r.kind === 'other'
            ? 12
            : 14;
  return Math.max(base, r.name.length);
}

/** Pad or cut a cell to its width: numbers right-aligned, the rest left-aligned. */
export function cell(text: string, width: number, kind: CellKind): string {
  const t = text.length > width ? `${text.slice(0, width - 1)}…` : text;
  return kind === 'number' || kind === 'bigint' ? t.padStart(width) : t.padEnd(width);
}
