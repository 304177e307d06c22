/**
 * The JSON decoder: each message (a text or UTF-8 bytes) is one row object, an array of row
 * objects, or an object holding the rows at the `rows:` path. Values go straight into the column
 * builders of the declared schema; a row that does not fit is rejected with a reason naming the
 * column, the expected type and the JSON type received (never the value: it may be large or
 * private), and the other rows of the message are kept.
 *
 * Hot path: one `JSON.parse` per message (the bulk of the cost), then per column a precompiled
 * field access and a typed write; no object, closure or string is made per row unless the row is
 * rejected.
 *
 * Choices worth knowing: the filter applies to the message object (to each row when the message
 * is a bare array); `pendingBytes` counts the messages that brought rows, as bytes for binary
 * payloads and as UTF-16 length for text ones (equal for ASCII; measuring UTF-8 would cost a pass
 * over every message); epoch s/ms become the nearest µs, us/ns are truncated toward -∞; an ns
 * *number* above 2^53 has already lost precision in JSON.parse (send ns as a string for exact µs).
 */
import { type Data, Field, makeData, RecordBatch, Schema, Struct } from 'apache-arrow';
import type { DecodeConfig, SchemaDecl } from '../../config/common.ts';
import { PolaroidError } from '../errors.ts';
import type { ColumnType } from '../types.ts';
import {
  BoolBuilder,
  type ColumnBuilder,
  F64Builder,
  I64Builder,
  SymbolBuilder,
  TimestampBuilder,
  Utf8Builder,
} from './columns.ts';
import type { Decoder, Reject } from './decoder.ts';
import { parseIsoMicros } from './iso8601.ts';

export interface JsonDecoderOptions {
  /** Rows to size the column arrays for: the batch policy's `count` (default 10 000). */
  capacity?: number;
  /**
   * Compile the row writer for the schema (default true; the fast path). Without it, or where the
   * host forbids code generation from strings, a loop over the columns does the same, slower.
   */
  compile?: boolean;
}

export interface JsonDecoder extends Decoder {
  /** Messages (rows, for a message that is a bare array) skipped by `decode.filter`, in total. */
  readonly skipped: number;
}

/** A decode config that does not fit the schema; raised when the decoder is built. */
export class DecodeConfigError extends PolaroidError {
  readonly code = 'DECODE_CONFIG';
  readonly retriable = false;
}

const K_TIMESTAMP = 0;
const K_SYMBOL = 1;
const K_F64 = 2;
const K_I64 = 3;
const K_BOOL = 4;
const K_UTF8 = 5;

const KIND: Record<ColumnType, number> = {
  timestamp: K_TIMESTAMP,
  symbol: K_SYMBOL,
  f64: K_F64,
  i64: K_I64,
  bool: K_BOOL,
  utf8: K_UTF8,
};

type TimestampUnit = 's' | 'ms' | 'us' | 'ns' | 'iso';
const U_S = 0;
const U_MS = 1;
const U_US = 2;
const U_NS = 3;
const U_ISO = 4;
const UNIT: Record<TimestampUnit, number> = { s: U_S, ms: U_MS, us: U_US, ns: U_NS, iso: U_ISO };

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const TWO_63 = 2 ** 63;

/** A dotted path split once: `data.p` → ['data', 'p']; `bids.0.0` → ['bids', 0, 0]. */
type Segment = string | number;

function splitPath(path: string): Segment[] {
  return path.split('.').map((s) => (/^(0|[1-9]\d*)$/.test(s) ? Number(s) : s));
}

/** Follow `rest` from `v`; undefined as soon as a step is missing or not a container. */
function walk(v: unknown, rest: readonly Segment[]): unknown {
  for (let k = 0; k < rest.length; k++) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, rest[k])) return undefined;
    v = (v as Record<Segment, unknown>)[rest[k]];
  }
  return v;
}

/**
 * Whether reading `seg` from a parsed object can reach Object.prototype (`constructor`,
 * `toString`, `__proto__`...) when the field is missing: such reads check for an own property.
 */
function inherited(seg: Segment): boolean {
  return typeof seg === 'string' && seg in Object.prototype;
}

function getPath(v: unknown, segs: readonly Segment[]): unknown {
  return walk(v, segs);
}

/** One output column: where its value is and how it is converted. */
class Column {
  constructor(
    readonly name: string,
    readonly kind: number,
    /** First path segment, read directly from the row. */
    readonly key: Segment,
    /** Further segments for nested paths, or null. */
    readonly rest: Segment[] | null,
    readonly unit: number,
    /** Missing or null rejects the row (the event-time column). */
    readonly required: boolean,
    readonly builder: ColumnBuilder,
    /** Position in the schema. */
    readonly index: number,
  ) {}
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/**
 * A number written as a string (`"42123.5"`, `"-1e-3"`), or NaN. Stricter than `Number()`: no
 * blanks, no empty string, no hex/binary/octal, no Infinity.
 */
export function numericString(s: string): number {
  const n = s.length;
  if (n === 0) return Number.NaN;
  const c0 = s.charCodeAt(0);
  const cl = s.charCodeAt(n - 1);
  if (!((c0 >= 48 && c0 <= 57) || c0 === 45 || c0 === 43 || c0 === 46)) return Number.NaN;
  if (!((cl >= 48 && cl <= 57) || cl === 46)) return Number.NaN;
  if (n > 2 && c0 === 48) {
    const c1 = s.charCodeAt(1) | 0x20;
    if (c1 === 0x78 || c1 === 0x62 || c1 === 0x6f) return Number.NaN;
  }
  const v = Number(s);
  return v - v === 0 ? v : Number.NaN;
}

const INTEGER_TEXT = /^[+-]?\d+$/;

/** µs of an epoch number in `unit` (s, ms, us, ns), or NaN when out of the exact range. */
function epochMicros(v: number, unit: number): number {
  let us: number;
  if (unit === U_MS) us = Math.round(v * 1000);
  else if (unit === U_S) us = Math.round(v * 1_000_000);
  else if (unit === U_US) us = Math.floor(v);
  else us = Math.floor(v / 1000);
  return us >= -MAX_SAFE && us <= MAX_SAFE ? us : Number.NaN;
}

/** µs of an integer nanosecond string, exact even beyond 2^53 ns (truncated toward -∞). */
function nanoStringMicros(s: string): number {
  const neg = s.charCodeAt(0) === 45;
  const digits = neg || s.charCodeAt(0) === 43 ? s.slice(1) : s;
  if (digits.length <= 3) return epochMicros(neg ? -Number(digits) : Number(digits), U_NS);
  const whole = Number(digits.slice(0, digits.length - 3));
  const rest = Number(digits.slice(digits.length - 3));
  const us = neg ? -whole - (rest > 0 ? 1 : 0) : whole;
  return us >= -MAX_SAFE && us <= MAX_SAFE ? us : Number.NaN;
}

/** µs of a timestamp value (number, numeric string or ISO-8601 string), or NaN. */
function timestampMicros(v: unknown, unit: number): number {
  if (typeof v === 'number') return unit === U_ISO ? Number.NaN : epochMicros(v, unit);
  if (typeof v !== 'string') return Number.NaN;
  if (unit !== U_ISO) {
    const x = numericString(v);
    if (!Number.isNaN(x)) {
      if (unit === U_NS && INTEGER_TEXT.test(v) && v.length > 15) return nanoStringMicros(v);
      return epochMicros(x, unit);
    }
  }
  return parseIsoMicros(v);
}

function expected(col: Column): string {
  switch (col.kind) {
    case K_TIMESTAMP:
      return col.unit === U_ISO
        ? 'timestamp (an ISO-8601 string such as 2024-01-02T03:04:05.123Z)'
        : `timestamp (epoch ${['s', 'ms', 'us', 'ns'][col.unit]} as a number or numeric string, or an ISO-8601 string)`;
    case K_SYMBOL:
      return 'symbol (a string or number)';
    case K_F64:
      return 'f64 (a number or numeric string)';
    case K_I64:
      return 'i64 (an integer or integer string within ±2^63)';
    case K_BOOL:
      return 'bool (true, false, 0, 1, "true" or "false")';
    default:
      return 'utf8 (a string, number or boolean)';
  }
}

/** Why `v` did not fit `col`: type received, and for strings and numbers what was wrong. */
function mismatch(col: Column, v: unknown): string {
  const type = jsonType(v);
  let got = type;
  if (type === 'string') {
    if (col.kind === K_TIMESTAMP)
      got = 'a string that is neither a number nor an ISO-8601 timestamp with a zone, or is out of range';
    else if (col.kind === K_F64 || col.kind === K_I64)
      got = !Number.isNaN(numericString(v as string)) ? 'a string out of range' : 'a non-numeric string';
    else if (col.kind === K_BOOL) got = 'a string other than "true" or "false"';
  } else if (type === 'number') {
    if (col.kind === K_TIMESTAMP) got = col.unit === U_ISO ? 'number' : 'a number out of range';
    else if (col.kind === K_I64)
      got = Number.isInteger(v) ? 'an integer out of range' : 'a fractional number';
    else if (col.kind === K_BOOL) got = 'a number other than 0 or 1';
  }
  return `column "${col.name}": expected ${expected(col)}, got ${got}`;
}

function notJsonReason(e: unknown): string {
  const message = e instanceof Error ? e.message : '';
  if (message.includes('Unexpected end')) return 'not valid JSON (the text ends early)';
  const at = /position (\d+)/.exec(message);
  return at ? `not valid JSON (at position ${at[1]})` : 'not valid JSON';
}

/** Write an i64 value (number or integer string) at row `i`; false when it does not fit. */
function writeInt64(b: I64Builder, i: number, v: unknown): boolean {
  let x: number;
  if (typeof v === 'number') x = v;
  else if (typeof v === 'string') {
    x = numericString(v);
    if (Number.isNaN(x)) return false;
    if (!Number.isSafeInteger(x) && INTEGER_TEXT.test(v)) {
      const big = BigInt(v);
      if (big < -(2n ** 63n) || big >= 2n ** 63n) return false;
      b.setBig(i, big);
      return true;
    }
  } else return false;
  if (!Number.isInteger(x)) return false;
  if (x >= -MAX_SAFE && x <= MAX_SAFE) b.set(i, x);
  else if (x >= -TWO_63 && x < TWO_63) b.setBig(i, BigInt(x));
  else return false;
  return true;
}

/** A JS literal for a path segment (strings via JSON.stringify, so any key is safe to embed). */
function literal(seg: Segment): string {
  return typeof seg === 'number' ? String(seg) : JSON.stringify(seg);
}

type RowWriter = (row: Record<string, unknown>, i: number) => boolean;

/**
 * Compile the row writer of a schema: straight-line code with one constant property read per
 * path step and one typed write per column, so every property access and builder call site sees
 * one shape (a loop over columns would make them all megamorphic). Only column keys from the
 * config are embedded, as JSON string literals; everything else is passed in.
 */
function compileRowWriter(
  cols: readonly Column[],
  fail: (c: number, v: unknown) => false,
  missing: (c: number) => false,
): RowWriter {
  const body: string[] = ['let v, x;'];
  for (const col of cols) if (col.kind === K_SYMBOL) body.push(`let s${col.index} = null;`);
  for (const col of cols) {
    const c = col.index;
    const own = (seg: Segment) => (inherited(seg) ? ` && Object.hasOwn(v, ${literal(seg)})` : '');
    body.push(
      inherited(col.key)
        ? `v = Object.hasOwn(row, ${literal(col.key)}) ? row[${literal(col.key)}] : undefined;`
        : `v = row[${literal(col.key)}];`,
    );
    for (const seg of col.rest ?? [])
      body.push(`v = typeof v === 'object' && v !== null${own(seg)} ? v[${literal(seg)}] : undefined;`);
    body.push(
      `if (v === undefined || v === null) ${col.required ? `return missing(${c});` : `b${c}.setNull(i);`}`,
    );
    body.push('else {');
    switch (col.kind) {
      case K_F64:
        body.push(
          "x = typeof v === 'number' ? v : typeof v === 'string' ? numericString(v) : NaN;",
          `if (x !== x) return fail(${c}, v);`,
          `b${c}.set(i, x);`,
        );
        break;
      case K_TIMESTAMP:
        body.push(
          `x = timestampMicros(v, ${col.unit});`,
          `if (x !== x) return fail(${c}, v);`,
          `b${c}.set(i, x);`,
        );
        break;
      case K_SYMBOL:
        body.push(
          `if (typeof v === 'string') s${c} = v;`,
          `else if (typeof v === 'number') s${c} = String(v);`,
          `else return fail(${c}, v);`,
        );
        break;
      case K_I64:
        body.push(`if (!writeInt64(b${c}, i, v)) return fail(${c}, v);`);
        break;
      case K_BOOL:
        body.push(
          "if (typeof v === 'boolean') x = v;",
          "else if (v === 1 || v === 'true') x = true;",
          "else if (v === 0 || v === 'false') x = false;",
          `else return fail(${c}, v);`,
          `b${c}.set(i, x);`,
        );
        break;
      default:
        body.push(
          `if (typeof v === 'string') b${c}.set(i, v);`,
          `else if (typeof v === 'number' || typeof v === 'boolean') b${c}.set(i, String(v));`,
          `else return fail(${c}, v);`,
        );
    }
    body.push('}');
  }
  for (const col of cols)
    if (col.kind === K_SYMBOL) body.push(`if (s${col.index} !== null) b${col.index}.set(i, s${col.index});`);
  body.push('return true;');
  const locals = cols.map((col) => `const b${col.index} = builders[${col.index}];`).join('\n');
  const factory = new Function(
    'builders',
    'fail',
    'missing',
    'numericString',
    'timestampMicros',
    'writeInt64',
    `'use strict';\n${locals}\nreturn function writeRow(row, i) {\n${body.join('\n')}\n};`,
  );
  return factory(
    cols.map((col) => col.builder),
    fail,
    missing,
    numericString,
    timestampMicros,
    writeInt64,
  ) as RowWriter;
}

/**
 * The same row writer without code generation, for hosts that forbid it
 * (`--disallow-code-generation-from-strings`): one loop over the columns, slower because every
 * property read and builder call site then sees all the columns.
 */
function interpretRowWriter(
  cols: readonly Column[],
  fail: (c: number, v: unknown) => false,
  missing: (c: number) => false,
): RowWriter {
  const pending: (string | null)[] = cols.map(() => null);
  const symbols = cols.filter((c) => c.kind === K_SYMBOL);
  return (row, i) => {
    for (let c = 0; c < cols.length; c++) {
      const col = cols[c];
      let v: unknown = inherited(col.key)
        ? Object.hasOwn(row, col.key)
          ? row[col.key]
          : undefined
        : row[col.key];
      if (col.rest !== null) v = walk(v, col.rest);
      if (v === undefined || v === null) {
        if (col.required) return missing(c);
        col.builder.setNull(i);
        pending[c] = null;
        continue;
      }
      switch (col.kind) {
        case K_F64: {
          const x = typeof v === 'number' ? v : typeof v === 'string' ? numericString(v) : Number.NaN;
          if (Number.isNaN(x)) return fail(c, v);
          (col.builder as F64Builder).set(i, x);
          break;
        }
        case K_TIMESTAMP: {
          const x = timestampMicros(v, col.unit);
          if (Number.isNaN(x)) return fail(c, v);
          (col.builder as TimestampBuilder).set(i, x);
          break;
        }
        case K_SYMBOL:
          if (typeof v === 'string') pending[c] = v;
          else if (typeof v === 'number') pending[c] = String(v);
          else return fail(c, v);
          break;
        case K_I64:
          if (!writeInt64(col.builder as I64Builder, i, v)) return fail(c, v);
          break;
        case K_BOOL:
          if (typeof v === 'boolean') (col.builder as BoolBuilder).set(i, v);
          else if (v === 1 || v === 'true') (col.builder as BoolBuilder).set(i, true);
          else if (v === 0 || v === 'false') (col.builder as BoolBuilder).set(i, false);
          else return fail(c, v);
          break;
        default:
          if (typeof v === 'string') (col.builder as Utf8Builder).set(i, v);
          else if (typeof v === 'number' || typeof v === 'boolean')
            (col.builder as Utf8Builder).set(i, String(v));
          else return fail(c, v);
      }
    }
    for (const col of symbols) {
      const v = pending[col.index];
      if (v !== null) (col.builder as SymbolBuilder).set(i, v);
    }
    return true;
  };
}

/** The compiled row writer, or the interpreted one where code generation is forbidden or off. */
function rowWriter(
  cols: readonly Column[],
  fail: (c: number, v: unknown) => false,
  missing: (c: number) => false,
  compile: boolean,
): RowWriter {
  if (compile) {
    try {
      return compileRowWriter(cols, fail, missing);
    } catch (e) {
      if (!(e instanceof EvalError)) throw e;
    }
  }
  return interpretRowWriter(cols, fail, missing);
}

class JsonDecoderImpl implements JsonDecoder {
  readonly schema: Schema;
  private readonly struct: Struct;
  private readonly cols: Column[];
  private readonly builders: ColumnBuilder[];
  private readonly writeRow: RowWriter;
  private readonly rowsPath: Segment[] | null;
  private readonly filterPaths: Segment[][];
  private readonly filterValues: (string | number | boolean)[];
  private readonly utf8 = new TextDecoder();
  private rows = 0;
  private bytes = 0;
  private capacity: number;
  private skippedCount = 0;
  /** Set by `writeRow` when it returns false. */
  private failure = '';

  constructor(schemaDecl: SchemaDecl, decode: DecodeConfig, opts: JsonDecoderOptions) {
    const capacity = Math.max(1, Math.floor(opts.capacity ?? 10_000));
    const names = Object.keys(schemaDecl);
    const fields = decode.fields ?? {};
    for (const name of Object.keys(fields))
      if (!(name in schemaDecl))
        throw new DecodeConfigError(
          `decode.fields.${name}: no column "${name}" in the schema (columns: ${names.join(', ')})`,
        );
    const eventTime = names.find((n) => schemaDecl[n] === 'timestamp');
    if (decode.timestamp && eventTime === undefined)
      throw new DecodeConfigError('decode.timestamp is set but the schema has no timestamp column');

    this.cols = [];
    for (const name of names) {
      const type = schemaDecl[name];
      const mapping = fields[name];
      let path = typeof mapping === 'string' ? mapping : (mapping?.path ?? name);
      let unit: TimestampUnit | undefined = typeof mapping === 'object' ? mapping.unit : undefined;
      if (unit !== undefined && type !== 'timestamp')
        throw new DecodeConfigError(
          `decode.fields.${name}.unit: column "${name}" is ${type}, not a timestamp`,
        );
      if (name === eventTime && decode.timestamp) {
        if (mapping === undefined) path = decode.timestamp.field;
        unit ??= decode.timestamp.unit;
      }
      const segs = splitPath(path);
      const builder = makeBuilder(type, capacity);
      const col = new Column(
        name,
        KIND[type],
        segs[0],
        segs.length > 1 ? segs.slice(1) : null,
        UNIT[unit ?? decode.timestamp?.unit ?? 'ms'],
        name === eventTime,
        builder,
        this.cols.length,
      );
      this.cols.push(col);
    }
    this.builders = this.cols.map((c) => c.builder);
    this.writeRow = rowWriter(
      this.cols,
      (c, v) => {
        this.failure = mismatch(this.cols[c], v);
        return false;
      },
      (c) => {
        this.failure = `column "${this.cols[c].name}": missing (required event time)`;
        return false;
      },
      opts.compile !== false,
    );
    this.capacity = this.minCapacity();
    this.schema = new Schema(this.cols.map((c) => new Field(c.name, c.builder.type, !c.required)));
    this.struct = new Struct(this.schema.fields);
    this.rowsPath = decode.rows ? splitPath(decode.rows) : null;
    const filter = Object.entries(decode.filter ?? {});
    this.filterPaths = filter.map(([path]) => splitPath(path));
    this.filterValues = filter.map(([, value]) => value);
  }

  get pendingRows(): number {
    return this.rows;
  }

  get pendingBytes(): number {
    return this.bytes;
  }

  get skipped(): number {
    return this.skippedCount;
  }

  decode(payload: string | Uint8Array, reject: Reject): number {
    let text: string;
    let size: number;
    if (typeof payload === 'string') {
      text = payload;
      size = payload.length;
    } else {
      text = this.utf8.decode(payload);
      size = payload.byteLength;
    }
    if (text.length === 0) {
      reject('empty message', text);
      return 0;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch (e) {
      reject(notJsonReason(e), text);
      return 0;
    }
    if (typeof msg !== 'object' || msg === null) {
      reject(`message is a JSON ${jsonType(msg)}, expected an object or an array of objects`, text);
      return 0;
    }
    const isArray = Array.isArray(msg);
    if (!isArray && this.filterPaths.length > 0 && !this.matches(msg)) {
      this.skippedCount++;
      return 0;
    }
    let rows: unknown = msg;
    if (this.rowsPath !== null) {
      rows = getPath(msg, this.rowsPath);
      if (typeof rows !== 'object' || rows === null) {
        reject(
          `rows path "${this.rowsPath.join('.')}" holds ${rows === undefined ? 'nothing' : `a JSON ${jsonType(rows)}`}, expected an array of objects or an object`,
          text,
        );
        return 0;
      }
    }
    let appended: number;
    if (Array.isArray(rows))
      appended = this.appendArray(rows, isArray && this.filterPaths.length > 0, reject);
    else if (this.appendOne(rows as Record<string, unknown>)) appended = 1;
    else {
      reject(this.failure, text);
      appended = 0;
    }
    if (appended > 0) this.bytes += size;
    return appended;
  }

  private appendArray(rows: unknown[], filterRows: boolean, reject: Reject): number {
    let appended = 0;
    for (let k = 0; k < rows.length; k++) {
      const row = rows[k];
      if (typeof row !== 'object' || row === null || Array.isArray(row)) {
        reject(`row ${k}: expected an object, got ${jsonType(row)}`, JSON.stringify(row) ?? '');
        continue;
      }
      if (filterRows && !this.matches(row)) {
        this.skippedCount++;
        continue;
      }
      if (this.appendOne(row as Record<string, unknown>)) appended++;
      else reject(`row ${k}: ${this.failure}`, JSON.stringify(row));
    }
    return appended;
  }

  private matches(obj: object): boolean {
    const paths = this.filterPaths;
    for (let k = 0; k < paths.length; k++) if (getPath(obj, paths[k]) !== this.filterValues[k]) return false;
    return true;
  }

  private minCapacity(): number {
    let c = Number.POSITIVE_INFINITY;
    for (const b of this.builders) c = Math.min(c, b.capacity);
    return c;
  }

  /** Write `row` at the next slot of every column; commit it only if every column accepted it. */
  private appendOne(row: Record<string, unknown>): boolean {
    const i = this.rows;
    if (i >= this.capacity) {
      for (const b of this.builders) b.reserve(i + 1);
      this.capacity = this.minCapacity();
    }
    if (!this.writeRow(row, i)) return false;
    this.rows = i + 1;
    return true;
  }

  flush(): RecordBatch {
    const length = this.rows;
    const children: Data[] = new Array(this.builders.length);
    for (let c = 0; c < this.builders.length; c++) children[c] = this.builders[c].finish(length);
    this.rows = 0;
    this.bytes = 0;
    this.capacity = this.minCapacity();
    const data = makeData({ type: this.struct, length, children, nullCount: 0 });
    return new RecordBatch(this.schema, data);
  }
}

function makeBuilder(type: ColumnType, capacity: number): ColumnBuilder {
  switch (type) {
    case 'timestamp':
      return new TimestampBuilder(capacity);
    case 'symbol':
      return new SymbolBuilder(capacity);
    case 'f64':
      return new F64Builder(capacity);
    case 'i64':
      return new I64Builder(capacity);
    case 'bool':
      return new BoolBuilder(capacity);
    case 'utf8':
      return new Utf8Builder(capacity);
  }
}

/**
 * A decoder for JSON messages into batches of the declared schema. Columns are read from the
 * field of the same name unless `decode.fields` maps them (a name, a dotted path such as
 * `data.p` or `bids.0.0`, or `{path, unit}` for timestamps). The first timestamp column is the
 * event time: `decode.timestamp` names its field and unit (a `fields` entry for that column, if
 * any, takes precedence for the path and, when it gives one, the unit), and a row without it is
 * rejected; other missing or null values are nulls. Throws `DecodeConfigError` only for a config that does
 * not fit the schema; bad input never throws.
 */
export function createJsonDecoder(
  schema: SchemaDecl,
  decode: DecodeConfig,
  opts: JsonDecoderOptions = {},
): JsonDecoder {
  return new JsonDecoderImpl(schema, decode, opts);
}
