/**
 * Type checking and compilation of expressions (docs/expressions.md) to column kernels.
 *
 * An expression is checked once against an Arrow schema (unknown columns are listed together;
 * type mismatches point at the operator) and compiled to a tree of closures, one per node, each
 * of which evaluates a whole batch over typed arrays: there is no per-row walk of the syntax tree.
 * Nulls are tracked in a validity mask beside the values; `and`/`or`/`not` follow SQL's
 * three-valued logic, and a filter keeps only rows that are true (null drops the row).
 *
 * `shift(x, n)` and `diff(x, n)` are per-key window functions over the operator's `by` key. Their
 * per-key history lives in an {@link ExprState} that survives batches, so a stream cut anywhere
 * gives the output of one pass over the whole input.
 */
import {
  Bool,
  type Data,
  DataType,
  Dictionary,
  Float64,
  makeData,
  makeVector,
  type RecordBatch,
  type Schema,
  TimestampMicrosecond,
  TimeUnit,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import { float64ToInt64, int64ToFloat64 } from '../kernels/int64.ts';
import { KeyMapper } from '../rolling-keys.ts';
import {
  type Buckets,
  TIME_FIELDS,
  type TimeField,
  timeField,
  truncateBuckets,
  truncateTo,
  zoneOffsets,
} from './datetime.ts';
import { type BinaryOp, ExprError, type Node, parseExpression } from './parse.ts';

/** Value types: numbers (all numeric columns, as float64), timestamps (µs), booleans, strings. */
export type ExprType = 'num' | 'ts' | 'bool' | 'str' | 'null';

export interface NumCol {
  t: 'num' | 'ts';
  v: Float64Array;
  /** 1 = valid; null when every row is valid. */
  valid: Uint8Array | null;
}
export interface BoolCol {
  t: 'bool';
  v: Uint8Array;
  valid: Uint8Array | null;
}
export interface StrCol {
  t: 'str';
  codes: Int32Array;
  dict: readonly string[];
  valid: Uint8Array | null;
}
export interface NullCol {
  t: 'null';
}
export type Col = NumCol | BoolCol | StrCol | NullCol;

/** Per-key history of the `shift`/`diff` calls of the expressions of one operator. */
export class ExprState {
  readonly keys: KeyMapper;
  private readonly sites = new Map<string, ShiftSite>();
  private lastBatch: RecordBatch | undefined;
  private lastKeys: Int32Array | null = null;

  constructor(by: readonly string[] = []) {
    this.keys = new KeyMapper(by);
  }

  /** Stable key ids of the batch's rows (computed once per batch). */
  keysOf(batch: RecordBatch): Int32Array | null {
    if (batch !== this.lastBatch) {
      this.lastKeys = this.keys.encode(batch);
      this.lastBatch = batch;
    }
    return this.lastKeys;
  }

  site(id: string, n: number): ShiftSite {
    let s = this.sites.get(id);
    if (!s) {
      s = new ShiftSite(n);
      this.sites.set(id, s);
    }
    return s;
  }
}

/** The last n values (and validity) of one shift/diff argument, per key. */
class ShiftSite {
  private readonly rings: Float64Array[] = [];
  private readonly valids: Uint8Array[] = [];
  private readonly pos: number[] = [];
  private readonly seen: number[] = [];
  private lastBatch: RecordBatch | undefined;
  private lastOut: { v: Float64Array; valid: Uint8Array } | undefined;

  constructor(private readonly n: number) {}

  /** Values n rows earlier within the key; the history advances once per batch. */
  apply(batch: RecordBatch, keys: Int32Array | null, v: Float64Array, valid: Uint8Array | null) {
    if (batch === this.lastBatch && this.lastOut) return this.lastOut;
    const len = v.length;
    const out = new Float64Array(len);
    const ok = new Uint8Array(len);
    const n = this.n;
    for (let i = 0; i < len; i++) {
      const k = keys === null ? 0 : keys[i];
      let ring = this.rings[k];
      if (ring === undefined) {
        ring = new Float64Array(n);
        this.rings[k] = ring;
        this.valids[k] = new Uint8Array(n);
        this.pos[k] = 0;
        this.seen[k] = 0;
      }
      const p = this.pos[k];
      const rv = this.valids[k];
      if (this.seen[k] >= n) {
        out[i] = ring[p];
        ok[i] = rv[p];
      }
      ring[p] = v[i];
      rv[p] = valid === null ? 1 : valid[i];
      this.pos[k] = p + 1 === n ? 0 : p + 1;
      this.seen[k]++;
    }
    this.lastBatch = batch;
    this.lastOut = { v: out, valid: ok };
    return this.lastOut;
  }
}

export interface CompileOptions {
  /** Key columns partitioning `shift`/`diff` (the stream's `by`). */
  by?: readonly string[];
  /** History of `shift`/`diff`; give the same state when recompiling for a new schema. */
  state?: ExprState;
  /** Namespace of this expression's `shift`/`diff` sites inside a shared state. */
  site?: string;
}

export interface CompiledExpression {
  readonly text: string;
  readonly type: ExprType;
  /** Columns the expression reads (plus the `by` columns when it uses shift/diff). */
  readonly columns: readonly string[];
  /** True when it uses shift/diff (its output depends on earlier batches). */
  readonly stateful: boolean;
  /** When the expression is a bare column reference: its name (output passes through as is). */
  readonly column: string | undefined;
  /** Evaluate over every row of a batch of the schema it was compiled for. */
  evaluate(batch: RecordBatch): Col;
  /** The result as an Arrow vector (a bare column reference returns the column unchanged). */
  vector(batch: RecordBatch): Vector;
  /** For boolean expressions: 1 where the row is true; false and null give 0 (filter semantics). */
  mask(batch: RecordBatch): Uint8Array;
}

type Eval = (b: RecordBatch) => Col;

interface Compiled {
  t: ExprType;
  ev: Eval;
}

/** Number of arguments of each function: [fewest, most]. */
const ARITY: Record<string, [number, number]> = {
  abs: [1, 1],
  sqrt: [1, 1],
  exp: [1, 1],
  log: [1, 1],
  round: [1, 2],
  min: [2, 2],
  max: [2, 2],
  shift: [1, 2],
  diff: [1, 2],
  if: [3, 3],
  coalesce: [2, Number.POSITIVE_INFINITY],
  ...Object.fromEntries(TIME_FIELDS.map((f) => [f, [1, 2]])),
  truncate: [2, 2],
  lower: [1, 1],
  upper: [1, 1],
  len: [1, 1],
  starts_with: [2, 2],
  ends_with: [2, 2],
  contains: [2, 2],
};

const FUNCTIONS = Object.keys(ARITY);

/** Argument `i` of a call, which must be a string literal (`what` says which kind). */
function stringLiteralArg(node: Extract<Node, { k: 'call' }>, i: number, what: string, text: string): string {
  const a = node.args[i];
  if (a.k !== 'str')
    throw new ExprError(
      'POLAROID_EXPR_TYPE',
      `argument ${i + 1} of ${node.fn} must be ${what} in single quotes`,
      text,
      a.pos,
    );
  return a.value;
}

/** The literal argument of a time function: `truncate`'s buckets, or a field's zone (UTC: undefined). */
function timeArgument(
  node: Extract<Node, { k: 'call' }>,
  text: string,
): { buckets: Buckets } | { zone: ReturnType<typeof zoneOffsets> } {
  if (node.fn === 'truncate') {
    const buckets = truncateBuckets(stringLiteralArg(node, 1, "a duration such as '1m'", text));
    if (typeof buckets === 'string')
      throw new ExprError('POLAROID_EXPR_TYPE', `argument 2 of truncate: ${buckets}`, text, node.args[1].pos);
    return { buckets };
  }
  if (node.args.length < 2) return { zone: undefined };
  const name = stringLiteralArg(node, 1, "a time zone such as 'America/New_York'", text);
  try {
    return { zone: zoneOffsets(name) };
  } catch (e) {
    throw new ExprError(
      'POLAROID_EXPR_TYPE',
      `argument 2 of ${node.fn}: ${(e as Error).message}`,
      text,
      node.args[1].pos,
    );
  }
}

/** `truncate` and the calendar fields: a timestamp, then a literal duration or zone. */
const TIME_FUNCTIONS = new Set<string>([...TIME_FIELDS, 'truncate']);

/**
 * Throw unless `node` calls a known function with a number of arguments it takes and valid
 * literal arguments (a duration, a zone, a pattern): what a call needs no schema for.
 */
function checkCall(node: Extract<Node, { k: 'call' }>, text: string): void {
  const fn = node.fn;
  if (!FUNCTIONS.includes(fn))
    throw new ExprError(
      'POLAROID_EXPR_SYNTAX',
      `unknown function "${fn}"; functions are ${FUNCTIONS.join(', ')}`,
      text,
      node.pos,
    );
  const [lo, hi] = ARITY[fn];
  const takes = lo === hi ? `${lo}` : hi === Number.POSITIVE_INFINITY ? `${lo} or more` : `${lo} or ${hi}`;
  if (node.args.length < lo || node.args.length > hi)
    throw new ExprError(
      'POLAROID_EXPR_TYPE',
      `${fn} takes ${takes} argument${hi > 1 ? 's' : ''}, got ${node.args.length}`,
      text,
      node.pos,
    );
  if (TIME_FUNCTIONS.has(fn)) timeArgument(node, text);
  else if (STRING_TESTS[fn]) stringLiteralArg(node, 1, STRING_PATTERN, text);
}

/**
 * Parse `text` and check what needs no schema: every function exists and gets a number of
 * arguments it takes. Config validation runs this, so those errors come with the file position;
 * column and type errors wait for the first batch's schema.
 */
export function checkExpression(text: string): Node {
  const ast = parseExpression(text);
  const visit = (n: Node): void => {
    switch (n.k) {
      case 'call':
        checkCall(n, text);
        for (const a of n.args) visit(a);
        break;
      case 'neg':
      case 'not':
      case 'isnull':
        visit(n.arg);
        break;
      case 'in':
        visit(n.arg);
        for (const x of n.list) visit(x);
        break;
      case 'bin':
        visit(n.left);
        visit(n.right);
        break;
      default:
        break;
    }
  };
  visit(ast);
  return ast;
}

const STRING_FUNCTIONS = new Set(['lower', 'upper', 'len', 'starts_with', 'ends_with', 'contains']);

/** What the pattern of `starts_with`, `ends_with` and `contains` must be. */
const STRING_PATTERN = "a string literal such as 'BTC'";

/** Tests of a string against the literal pattern of `starts_with`, `ends_with`, `contains`. */
const STRING_TESTS: Record<string, (s: string, pattern: string) => boolean> = {
  starts_with: (s, p) => s.startsWith(p),
  ends_with: (s, p) => s.endsWith(p),
  contains: (s, p) => s.includes(p),
};

/** Number of Unicode code points (a surrogate pair is one), as Polars `str.len_chars`. */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i + 1 < s.length; i++) {
    const hi = s.charCodeAt(i);
    const lo = s.charCodeAt(i + 1);
    if (hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) {
      n--;
      i++;
    }
  }
  return n;
}

/** The expression type of an Arrow column type, or undefined when expressions cannot read it. */
export function columnType(type: DataType): ExprType | undefined {
  if (DataType.isFloat(type) || DataType.isInt(type)) return 'num';
  if (DataType.isTimestamp(type)) return 'ts';
  if (DataType.isBool(type)) return 'bool';
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) return 'str';
  if (
    DataType.isDictionary(type) &&
    (DataType.isUtf8(type.dictionary) || DataType.isLargeUtf8(type.dictionary))
  )
    return 'str';
  return undefined;
}

const TYPE_NAMES: Record<ExprType, string> = {
  num: 'a number',
  ts: 'a timestamp',
  bool: 'a boolean',
  str: 'a string',
  null: 'null',
};

function unpackValidity(d: Data): Uint8Array | null {
  if (d.nullCount === 0 || !d.nullBitmap) return null;
  const out = new Uint8Array(d.length);
  const bits = d.nullBitmap;
  const off = d.offset;
  for (let i = 0; i < d.length; i++) {
    const j = i + off;
    out[i] = (bits[j >> 3] >> (j & 7)) & 1;
  }
  return out;
}

/**
 * The strings of each Arrow dictionary read so far. Batches of a stream share one dictionary
 * object until it grows, so a dictionary is read once, and the per-entry work of string
 * functions, `in` and comparisons (memoised by {@link perDictionary}) is done once too.
 */
const DICTIONARIES = new WeakMap<object, string[]>();

/** `f` of a dictionary (or two), computed again only when one of them is another array. */
function perDictionary<T>(
  f: (a: readonly string[], b: readonly string[]) => T,
): (a: readonly string[], b?: readonly string[]) => T {
  const none: readonly string[] = [];
  let lastA: readonly string[] | undefined;
  let lastB: readonly string[] | undefined;
  let value: T;
  return (a, b = none) => {
    if (a !== lastA || b !== lastB) {
      value = f(a, b);
      lastA = a;
      lastB = b;
    }
    return value;
  };
}

/** Read one column of a batch into the evaluator's representation. */
function loadColumn(batch: RecordBatch, name: string, t: ExprType): Col {
  const vec = batch.getChild(name)!;
  const d = (vec.data.length === 1 ? vec.data[0] : makeVector(vec.toArray()).data[0]) as Data;
  const n = d.length;
  const valid = unpackValidity(d);
  const type = d.type;
  if (t === 'num' || t === 'ts') {
    let v: Float64Array;
    const raw = d.values as ArrayLike<number> | BigInt64Array | BigUint64Array;
    if (raw instanceof Float64Array) v = raw.subarray(0, n);
    else if (raw instanceof BigInt64Array || raw instanceof BigUint64Array)
      v = int64ToFloat64(new BigInt64Array(raw.buffer, raw.byteOffset, n));
    else v = Float64Array.from((raw as Int32Array).subarray(0, n));
    if (t === 'ts') {
      const unit = (type as any).unit as TimeUnit;
      if (unit !== TimeUnit.MICROSECOND) {
        const out = new Float64Array(n);
        const scale = unit === TimeUnit.SECOND ? 1e6 : unit === TimeUnit.MILLISECOND ? 1e3 : 1e-3;
        for (let i = 0; i < n; i++) out[i] = scale < 1 ? Math.floor(v[i] * scale) : v[i] * scale;
        v = out;
      }
    }
    return { t, v, valid };
  }
  if (t === 'bool') {
    const out = new Uint8Array(n);
    const bits = d.values as Uint8Array;
    for (let i = 0; i < n; i++) {
      const j = i + d.offset;
      out[i] = (bits[j >> 3] >> (j & 7)) & 1;
    }
    return { t, v: out, valid };
  }
  if (type instanceof Dictionary) {
    const dv = d.dictionary!;
    let dict = DICTIONARIES.get(dv);
    if (dict === undefined) {
      dict = new Array(dv.length);
      for (let j = 0; j < dv.length; j++) dict[j] = String(dv.get(j));
      DICTIONARIES.set(dv, dict);
    }
    const raw = d.values as Int32Array;
    const codes = raw instanceof Int32Array ? raw.subarray(0, n) : Int32Array.from(raw as ArrayLike<number>);
    return { t: 'str', codes, dict, valid };
  }
  const codes = new Int32Array(n);
  const dict: string[] = [];
  const index = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const s = vec.get(i) as string | null;
    if (s === null) continue;
    let c = index.get(s);
    if (c === undefined) {
      c = dict.push(s) - 1;
      index.set(s, c);
    }
    codes[i] = c;
  }
  return { t: 'str', codes, dict, valid };
}

function allNull(n: number): Uint8Array {
  return new Uint8Array(n);
}

/** Validity of a row-wise combination: valid where both are. */
function bothValid(a: Uint8Array | null, b: Uint8Array | null, n: number): Uint8Array | null {
  if (a === null) return b;
  if (b === null) return a;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = a[i] & b[i];
  return out;
}

function validOf(c: Col, n: number): Uint8Array | null {
  return c.t === 'null' ? allNull(n) : c.valid;
}

function nonNull(c: Col): Exclude<Col, NullCol> | undefined {
  return c.t === 'null' ? undefined : c;
}

/** Values of a numeric-like column, or zeros for a null column. */
function numValues(c: Col, n: number): Float64Array {
  if (c.t === 'num' || c.t === 'ts') return c.v;
  if (c.t === 'bool') return Float64Array.from(c.v);
  return new Float64Array(n);
}

function arith(op: BinaryOp, a: Float64Array, b: Float64Array, out: Float64Array): void {
  const n = out.length;
  switch (op) {
    case '+':
      for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
      break;
    case '-':
      for (let i = 0; i < n; i++) out[i] = a[i] - b[i];
      break;
    case '*':
      for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
      break;
    case '/':
      for (let i = 0; i < n; i++) out[i] = a[i] / b[i];
      break;
    default:
      for (let i = 0; i < n; i++) out[i] = a[i] % b[i];
  }
}

function compareNums(op: BinaryOp, a: Float64Array, b: Float64Array, out: Uint8Array): void {
  const n = out.length;
  switch (op) {
    case '==':
      for (let i = 0; i < n; i++) out[i] = a[i] === b[i] ? 1 : 0;
      break;
    case '!=':
      for (let i = 0; i < n; i++) out[i] = a[i] !== b[i] ? 1 : 0;
      break;
    case '<':
      for (let i = 0; i < n; i++) out[i] = a[i] < b[i] ? 1 : 0;
      break;
    case '<=':
      for (let i = 0; i < n; i++) out[i] = a[i] <= b[i] ? 1 : 0;
      break;
    case '>':
      for (let i = 0; i < n; i++) out[i] = a[i] > b[i] ? 1 : 0;
      break;
    default:
      for (let i = 0; i < n; i++) out[i] = a[i] >= b[i] ? 1 : 0;
  }
}

/** Ranks of two dictionaries in one order, so string comparisons become integer ones. */
function ranks(a: readonly string[], b: readonly string[]): { ra: Float64Array; rb: Float64Array } {
  const all = [...new Set([...a, ...b])].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const rank = new Map<string, number>();
  all.forEach((s, i) => {
    rank.set(s, i);
  });
  return { ra: Float64Array.from(a, (s) => rank.get(s)!), rb: Float64Array.from(b, (s) => rank.get(s)!) };
}

/** Per row, the entry of `table` (one per dictionary entry) at the row's code. */
function gatherCodes<T extends Float64Array | Uint8Array>(codes: Int32Array, table: T, out: T): T {
  for (let i = 0; i < codes.length; i++) out[i] = table[codes[i]];
  return out;
}

/**
 * One dictionary holding every string of `dicts` once, and for each input dictionary the code of
 * each of its entries in it.
 */
function mergeDicts(dicts: readonly (readonly string[])[]): { dict: string[]; remaps: Int32Array[] } {
  const dict: string[] = [];
  const index = new Map<string, number>();
  const remaps = dicts.map((d) =>
    Int32Array.from(d, (s) => {
      let c = index.get(s);
      if (c === undefined) {
        c = dict.push(s) - 1;
        index.set(s, c);
      }
      return c;
    }),
  );
  return { dict, remaps };
}

/**
 * Per row i, the value and validity of `cols[choice[i]]` (null where choice is -1). The columns
 * are of type `t` or null columns; strings are re-coded into one merged dictionary.
 */
function pick(t: ExprType, cols: readonly Col[], choice: Int32Array, n: number): Col {
  if (t === 'null') return { t: 'null' };
  const strs = cols.filter((c): c is StrCol => c.t === 'str');
  const { dict, remaps } = mergeDicts(strs.map((c) => c.dict));
  const lanes = cols.map((c) => {
    if (c.t === 'null') return undefined;
    if (c.t !== 'str') return { v: c.v, valid: c.valid };
    const remap = remaps[strs.indexOf(c)];
    return { v: Int32Array.from(c.codes, (code) => remap[code]), valid: c.valid };
  });
  const out = t === 'bool' ? new Uint8Array(n) : t === 'str' ? new Int32Array(n) : new Float64Array(n);
  const valid = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = choice[i];
    const lane = k < 0 ? undefined : lanes[k];
    if (lane === undefined) continue;
    out[i] = lane.v[i];
    valid[i] = lane.valid === null ? 1 : lane.valid[i];
  }
  if (t === 'str') return { t, codes: out as Int32Array, dict, valid };
  if (t === 'bool') return { t, v: out as Uint8Array, valid };
  return { t: t as 'num' | 'ts', v: out as Float64Array, valid };
}

function roundHalfAway(x: number, f: number): number {
  const y = Math.round(Math.abs(x) * f) / f;
  return x < 0 ? -y : y;
}

/** A compiler for one expression against one schema. */
class Compiler {
  readonly columns = new Set<string>();
  stateful = false;

  constructor(
    private readonly text: string,
    private readonly types: Map<string, ExprType>,
    private readonly state: ExprState | undefined,
    private readonly site: string,
  ) {}

  private typeError(detail: string, pos: number): ExprError {
    return new ExprError('POLAROID_EXPR_TYPE', detail, this.text, pos);
  }

  compile(node: Node): Compiled {
    switch (node.k) {
      case 'num': {
        const x = node.value;
        return { t: 'num', ev: (b) => ({ t: 'num', v: new Float64Array(b.numRows).fill(x), valid: null }) };
      }
      case 'bool': {
        const x = node.value ? 1 : 0;
        return { t: 'bool', ev: (b) => ({ t: 'bool', v: new Uint8Array(b.numRows).fill(x), valid: null }) };
      }
      case 'str': {
        const dict = [node.value];
        return { t: 'str', ev: (b) => ({ t: 'str', codes: new Int32Array(b.numRows), dict, valid: null }) };
      }
      case 'null':
        return { t: 'null', ev: () => ({ t: 'null' }) };
      case 'col': {
        const t = this.types.get(node.name)!;
        const name = node.name;
        this.columns.add(name);
        return { t, ev: (b) => loadColumn(b, name, t) };
      }
      case 'neg': {
        const a = this.compile(node.arg);
        if (a.t !== 'num' && a.t !== 'null')
          throw this.typeError(`cannot negate ${TYPE_NAMES[a.t]}; "-" needs a number`, node.pos);
        return {
          t: a.t,
          ev: (b) => {
            const c = a.ev(b);
            if (c.t !== 'num') return c;
            const out = new Float64Array(c.v.length);
            for (let i = 0; i < out.length; i++) out[i] = -c.v[i];
            return { t: 'num', v: out, valid: c.valid };
          },
        };
      }
      case 'not': {
        const a = this.compile(node.arg);
        if (a.t !== 'bool' && a.t !== 'null')
          throw this.typeError(`"not" needs a boolean, got ${TYPE_NAMES[a.t]}`, node.pos);
        return {
          t: 'bool',
          ev: (b) => {
            const c = a.ev(b);
            const n = b.numRows;
            if (c.t !== 'bool') return { t: 'bool', v: new Uint8Array(n), valid: allNull(n) };
            const out = new Uint8Array(n);
            for (let i = 0; i < n; i++) out[i] = c.v[i] ^ 1;
            return { t: 'bool', v: out, valid: c.valid };
          },
        };
      }
      case 'isnull': {
        const a = this.compile(node.arg);
        const neg = node.negated;
        return {
          t: 'bool',
          ev: (b) => {
            const n = b.numRows;
            const valid = validOf(a.ev(b), n);
            const out = new Uint8Array(n);
            if (valid === null) out.fill(neg ? 1 : 0);
            else for (let i = 0; i < n; i++) out[i] = neg ? valid[i] : valid[i] ^ 1;
            return { t: 'bool', v: out, valid: null };
          },
        };
      }
      case 'in':
        return this.compileIn(node);
      case 'bin':
        return this.compileBinary(node);
      case 'call':
        return this.compileCall(node);
    }
  }

  private compileIn(node: Extract<Node, { k: 'in' }>): Compiled {
    const a = this.compile(node.arg);
    let hasNull = false;
    const nums = new Set<number>();
    const strs = new Set<string>();
    for (const item of node.list) {
      const it =
        item.k === 'null'
          ? 'null'
          : item.k === 'str'
            ? 'str'
            : item.k === 'bool'
              ? 'bool'
              : item.k === 'neg' || item.k === 'num'
                ? 'num'
                : 'null';
      if (it === 'null') {
        hasNull = true;
        continue;
      }
      const want = a.t === 'ts' ? 'num' : a.t;
      if (a.t !== 'null' && it !== want)
        throw this.typeError(
          `the list holds ${TYPE_NAMES[it]} but the value is ${TYPE_NAMES[a.t]}`,
          item.pos,
        );
      if (item.k === 'str') strs.add(item.value);
      else if (item.k === 'num') nums.add(item.value);
      else if (item.k === 'neg' && item.arg.k === 'num') nums.add(-item.arg.value);
      else if (item.k === 'bool') nums.add(item.value ? 1 : 0);
    }
    const negated = node.negated;
    const hits = perDictionary((dict) => Uint8Array.from(dict, (s) => (strs.has(s) ? 1 : 0)));
    return {
      t: 'bool',
      ev: (b) => {
        const n = b.numRows;
        const c = a.ev(b);
        const out = new Uint8Array(n);
        if (c.t === 'null') return { t: 'bool', v: out, valid: allNull(n) };
        const hit = new Uint8Array(n);
        if (c.t === 'str') {
          gatherCodes(c.codes, hits(c.dict), hit);
        } else {
          const v = c.v;
          for (let i = 0; i < n; i++) hit[i] = nums.has(v[i]) ? 1 : 0;
        }
        // SQL: a miss against a list with null is null, not false.
        let valid = c.valid;
        if (hasNull) {
          const vv = new Uint8Array(n);
          for (let i = 0; i < n; i++) vv[i] = (valid === null ? 1 : valid[i]) & hit[i];
          valid = vv;
        }
        for (let i = 0; i < n; i++) out[i] = negated ? hit[i] ^ 1 : hit[i];
        return { t: 'bool', v: out, valid };
      },
    };
  }

  private compileBinary(node: Extract<Node, { k: 'bin' }>): Compiled {
    const op = node.op;
    const l = this.compile(node.left);
    const r = this.compile(node.right);
    if (op === 'and' || op === 'or') {
      for (const [side, c] of [
        ['left', l],
        ['right', r],
      ] as const)
        if (c.t !== 'bool' && c.t !== 'null')
          throw this.typeError(`"${op}" needs booleans, the ${side} side is ${TYPE_NAMES[c.t]}`, node.pos);
      const isAnd = op === 'and';
      return {
        t: 'bool',
        ev: (b) => {
          const n = b.numRows;
          const x = l.ev(b);
          const y = r.ev(b);
          const xv = x.t === 'bool' ? x.v : new Uint8Array(n);
          const yv = y.t === 'bool' ? y.v : new Uint8Array(n);
          const xok = validOf(x, n);
          const yok = validOf(y, n);
          const out = new Uint8Array(n);
          if (xok === null && yok === null) {
            if (isAnd) for (let i = 0; i < n; i++) out[i] = xv[i] & yv[i];
            else for (let i = 0; i < n; i++) out[i] = xv[i] | yv[i];
            return { t: 'bool', v: out, valid: null };
          }
          const valid = new Uint8Array(n);
          for (let i = 0; i < n; i++) {
            const xa = xok === null ? 1 : xok[i];
            const ya = yok === null ? 1 : yok[i];
            const xs = xv[i] & xa;
            const ys = yv[i] & ya;
            if (isAnd) {
              // false wins over null: a known false on either side decides.
              const xFalse = xa & (xv[i] ^ 1);
              const yFalse = ya & (yv[i] ^ 1);
              out[i] = xs & ys;
              valid[i] = xFalse | yFalse | (xa & ya);
            } else {
              out[i] = xs | ys;
              valid[i] = xs | ys | (xa & ya);
            }
          }
          return { t: 'bool', v: out, valid };
        },
      };
    }
    const isCmp = op === '==' || op === '!=' || op === '<' || op === '<=' || op === '>' || op === '>=';
    if (isCmp) return this.compileComparison(node, l, r);
    // Arithmetic: numbers, and timestamps ± numbers (µs) or timestamp − timestamp.
    let t: ExprType;
    const lt = l.t;
    const rt = r.t;
    const numLike = (x: ExprType) => x === 'num' || x === 'null';
    if (numLike(lt) && numLike(rt)) t = 'num';
    else if (lt === 'ts' && numLike(rt) && (op === '+' || op === '-')) t = 'ts';
    else if (numLike(lt) && rt === 'ts' && op === '+') t = 'ts';
    else if (lt === 'ts' && rt === 'ts' && op === '-') t = 'num';
    else
      throw this.typeError(
        `cannot apply "${op}" to ${TYPE_NAMES[lt]} and ${TYPE_NAMES[rt]}` +
          (lt === 'ts' || rt === 'ts' ? ' (timestamps allow ts ± number of µs and ts − ts)' : ''),
        node.pos,
      );
    return {
      t,
      ev: (b) => {
        const n = b.numRows;
        const x = l.ev(b);
        const y = r.ev(b);
        if (x.t === 'null' || y.t === 'null')
          return { t: t as 'num' | 'ts', v: new Float64Array(n), valid: allNull(n) };
        const out = new Float64Array(n);
        arith(op, numValues(x, n), numValues(y, n), out);
        return { t: t as 'num' | 'ts', v: out, valid: bothValid(x.valid, y.valid, n) };
      },
    };
  }

  /** A string literal compared with a timestamp is read as an ISO-8601 instant. */
  private timestampLiteral(node: Node): Compiled | undefined {
    if (node.k !== 'str') return undefined;
    const ms = Date.parse(node.value);
    if (Number.isNaN(ms))
      throw this.typeError(
        `"${node.value}" is not an ISO-8601 timestamp (e.g. 2024-01-02T14:30:00Z)`,
        node.pos,
      );
    const us = ms * 1000;
    return { t: 'ts', ev: (b) => ({ t: 'ts', v: new Float64Array(b.numRows).fill(us), valid: null }) };
  }

  private compileComparison(node: Extract<Node, { k: 'bin' }>, l: Compiled, r: Compiled): Compiled {
    const op = node.op;
    if (l.t === 'ts' && r.t === 'str') r = this.timestampLiteral(node.right) ?? r;
    if (r.t === 'ts' && l.t === 'str') l = this.timestampLiteral(node.left) ?? l;
    const lt = l.t;
    const rt = r.t;
    const ordered = op !== '==' && op !== '!=';
    const ok =
      lt === 'null' ||
      rt === 'null' ||
      (lt === rt && !(lt === 'bool' && ordered)) ||
      (lt === 'ts' && rt === 'num') ||
      (lt === 'num' && rt === 'ts');
    if (!ok)
      throw this.typeError(
        `cannot compare ${TYPE_NAMES[lt]} with ${TYPE_NAMES[rt]} using "${op}"` +
          (lt === 'str' || rt === 'str' ? " (strings are in single quotes: symbol == 'BTC-USD')" : ''),
        node.pos,
      );
    const leftToRight = perDictionary((xd, yd) => {
      const idx = new Map<string, number>();
      yd.forEach((s, j) => {
        if (!idx.has(s)) idx.set(s, j);
      });
      // Equal strings may sit under several codes of y's dictionary: compare via strings then.
      return { lToR: Int32Array.from(xd, (s) => idx.get(s) ?? -1), unique: idx.size === yd.length };
    });
    const rankPair = perDictionary(ranks);
    return {
      t: 'bool',
      ev: (b) => {
        const n = b.numRows;
        const x = nonNull(l.ev(b));
        const y = nonNull(r.ev(b));
        const out = new Uint8Array(n);
        if (!x || !y) return { t: 'bool', v: out, valid: allNull(n) };
        if (x.t === 'str' && y.t === 'str') {
          if (op === '==' || op === '!=') {
            const { lToR, unique } = leftToRight(x.dict, y.dict);
            for (let i = 0; i < n; i++) {
              const eq = unique ? lToR[x.codes[i]] === y.codes[i] : x.dict[x.codes[i]] === y.dict[y.codes[i]];
              out[i] = (eq ? 1 : 0) ^ (op === '!=' ? 1 : 0);
            }
          } else {
            const { ra, rb } = rankPair(x.dict, y.dict);
            const rows = x.codes.length;
            compareNums(
              op,
              gatherCodes(x.codes, ra, new Float64Array(rows)),
              gatherCodes(y.codes, rb, new Float64Array(rows)),
              out,
            );
          }
        } else if (x.t === 'bool' && y.t === 'bool') {
          for (let i = 0; i < n; i++) out[i] = (x.v[i] === y.v[i] ? 1 : 0) ^ (op === '!=' ? 1 : 0);
        } else compareNums(op, numValues(x, n), numValues(y, n), out);
        return { t: 'bool', v: out, valid: bothValid(x.valid, y.valid, n) };
      },
    };
  }

  private intArg(node: Extract<Node, { k: 'call' }>, i: number, dflt: number, min: number): number {
    const a = node.args[i];
    if (a === undefined) return dflt;
    const v = a.k === 'num' ? a.value : a.k === 'neg' && a.arg.k === 'num' ? -a.arg.value : Number.NaN;
    if (!Number.isInteger(v) || v < min)
      throw this.typeError(`argument ${i + 1} of ${node.fn} must be an integer literal >= ${min}`, a.pos);
    return v;
  }

  /**
   * `if(cond, a, b)` and `coalesce(a, b, ...)`: per row, the value of one of the value arguments
   * (`a` where cond is true, else `b`; the first non-null one). Every argument is evaluated over
   * the whole batch, so a `shift`/`diff` in a branch sees every row of its key, taken or not.
   */
  private compileChoice(node: Extract<Node, { k: 'call' }>): Compiled {
    const fn = node.fn;
    const isIf = fn === 'if';
    const args = node.args.map((a) => this.compile(a));
    const cond = isIf ? args[0] : undefined;
    if (cond && cond.t !== 'bool' && cond.t !== 'null')
      throw this.typeError(
        `the condition of if (argument 1) must be a boolean, got ${TYPE_NAMES[cond.t]}`,
        node.args[0].pos,
      );
    // The value arguments share one type; a null literal takes the others' type.
    const first = isIf ? 1 : 0;
    let t: ExprType = 'null';
    let typed = 0;
    for (let k = first; k < args.length; k++) {
      const at = args[k].t;
      if (at === 'null') continue;
      if (t === 'null') {
        t = at;
        typed = k;
      } else if (at !== t)
        throw this.typeError(
          `argument ${k + 1} of ${fn} is ${TYPE_NAMES[at]} but argument ${typed + 1} is ${TYPE_NAMES[t]}; ` +
            `${isIf ? 'both branches' : 'all arguments'} of ${fn} must have one type` +
            ((at === 'ts' && t === 'num') || (at === 'num' && t === 'ts')
              ? ' (numbers and timestamps do not mix)'
              : ''),
          node.args[k].pos,
        );
    }
    const rt = t;
    return {
      t: rt,
      ev: (b) => {
        const n = b.numRows;
        const cols = args.map((a) => a.ev(b));
        const values = cols.slice(first);
        // The index (in values) of the argument each row takes; -1 = none, the row is null.
        const choice = new Int32Array(n);
        if (isIf) {
          const c = cols[0];
          // A null condition is not true: the row takes b, as SQL CASE and Polars when/otherwise.
          if (c.t === 'bool')
            for (let i = 0; i < n; i++) choice[i] = (c.v[i] & (c.valid === null ? 1 : c.valid[i])) ^ 1;
          else choice.fill(1);
        } else {
          choice.fill(-1);
          // From the last argument to the first, so the first non-null one is kept.
          for (let k = values.length - 1; k >= 0; k--) {
            const c = values[k];
            if (c.t === 'null') continue;
            if (c.valid === null) choice.fill(k);
            else for (let i = 0; i < n; i++) if (c.valid[i]) choice[i] = k;
          }
        }
        return pick(rt, values, choice, n);
      },
    };
  }

  /**
   * `year(ts)` … `weekday(ts)` (numbers, in UTC or in the zone of an optional second argument)
   * and `truncate(ts, '1m')` (the start of the fixed-length bucket holding ts, in UTC).
   */
  private compileTime(node: Extract<Node, { k: 'call' }>): Compiled {
    const fn = node.fn;
    const a = this.compile(node.args[0]);
    if (a.t !== 'ts' && a.t !== 'null')
      throw this.typeError(`${fn} needs a timestamp, got ${TYPE_NAMES[a.t]}`, node.pos);
    const t: ExprType = fn === 'truncate' ? 'ts' : 'num';
    const arg = timeArgument(node, this.text);
    const kernel: (v: Float64Array, out: Float64Array) => void =
      'buckets' in arg
        ? (v, out) => truncateTo(v, arg.buckets, out)
        : (v, out) => timeField(fn as TimeField, v, out, arg.zone);
    return {
      t,
      ev: (b) => {
        const x = a.ev(b);
        if (x.t !== 'ts') return x;
        const out = new Float64Array(x.v.length);
        kernel(x.v, out);
        return { t: t as 'num' | 'ts', v: out, valid: x.valid };
      },
    };
  }

  /**
   * `lower`, `upper`, `len`, `starts_with`, `ends_with`, `contains`: computed once per entry of
   * the string's dictionary, not per row (a symbol column has few distinct values).
   */
  private compileString(node: Extract<Node, { k: 'call' }>): Compiled {
    const fn = node.fn;
    const a = this.compile(node.args[0]);
    if (a.t !== 'str' && a.t !== 'null')
      throw this.typeError(`${fn} needs a string, got ${TYPE_NAMES[a.t]}`, node.pos);
    if (fn === 'lower' || fn === 'upper') {
      const map = fn === 'lower' ? (s: string) => s.toLowerCase() : (s: string) => s.toUpperCase();
      const mapped = perDictionary((dict) => dict.map(map));
      return {
        t: 'str',
        ev: (b) => {
          const x = a.ev(b);
          if (x.t !== 'str') return x;
          // Same codes, mapped dictionary (two entries may map to one string: 'BTC', 'btc').
          return { t: 'str', codes: x.codes, dict: mapped(x.dict), valid: x.valid };
        },
      };
    }
    if (fn === 'len') {
      const lengths = perDictionary((dict) => Float64Array.from(dict, codePoints));
      return {
        t: 'num',
        ev: (b) => {
          const x = a.ev(b);
          if (x.t !== 'str') return x;
          const per = lengths(x.dict);
          return { t: 'num', v: gatherCodes(x.codes, per, new Float64Array(x.codes.length)), valid: x.valid };
        },
      };
    }
    const pattern = stringLiteralArg(node, 1, STRING_PATTERN, this.text);
    const test = STRING_TESTS[fn];
    const matches = perDictionary((dict) => Uint8Array.from(dict, (s) => (test(s, pattern) ? 1 : 0)));
    return {
      t: 'bool',
      ev: (b) => {
        const x = a.ev(b);
        const n = b.numRows;
        if (x.t !== 'str') return { t: 'bool', v: new Uint8Array(n), valid: allNull(n) };
        const per = matches(x.dict);
        return { t: 'bool', v: gatherCodes(x.codes, per, new Uint8Array(n)), valid: x.valid };
      },
    };
  }

  private compileCall(node: Extract<Node, { k: 'call' }>): Compiled {
    const fn = node.fn;
    checkCall(node, this.text);
    if (fn === 'if' || fn === 'coalesce') return this.compileChoice(node);
    if (TIME_FUNCTIONS.has(fn)) return this.compileTime(node);
    if (STRING_FUNCTIONS.has(fn)) return this.compileString(node);
    const a = this.compile(node.args[0]);
    if (fn === 'min' || fn === 'max') {
      const b2 = this.compile(node.args[1]);
      const t: ExprType = a.t === 'null' ? b2.t : a.t;
      if (!((t === 'num' || t === 'ts' || t === 'null') && (b2.t === t || b2.t === 'null')))
        throw this.typeError(
          `${fn} needs two numbers or two timestamps, got ${TYPE_NAMES[a.t]} and ${TYPE_NAMES[b2.t]}`,
          node.pos,
        );
      const isMin = fn === 'min';
      return {
        t,
        ev: (b) => {
          const n = b.numRows;
          const x = nonNull(a.ev(b));
          const y = nonNull(b2.ev(b));
          if (!x && !y) return { t: 'null' };
          if (!x || !y) return (x ?? y)!;
          const xv = numValues(x, n);
          const yv = numValues(y, n);
          const out = new Float64Array(n);
          const valid = new Uint8Array(n);
          for (let i = 0; i < n; i++) {
            const xa = x.valid === null ? 1 : x.valid[i];
            const ya = y.valid === null ? 1 : y.valid[i];
            // Nulls are ignored, as Polars min_horizontal / SQL LEAST.
            if (xa && ya) out[i] = isMin ? Math.min(xv[i], yv[i]) : Math.max(xv[i], yv[i]);
            else out[i] = xa ? xv[i] : yv[i];
            valid[i] = xa | ya;
          }
          return { t: t as 'num' | 'ts', v: out, valid };
        },
      };
    }
    if (fn === 'shift' || fn === 'diff') {
      const n = this.intArg(node, 1, 1, 1);
      if (fn === 'shift' && a.t === 'str')
        throw this.typeError(
          'shift of a string is not supported; shift numbers, timestamps or booleans',
          node.pos,
        );
      if (fn === 'diff' && a.t !== 'num' && a.t !== 'ts' && a.t !== 'null')
        throw this.typeError(`diff needs a number or a timestamp, got ${TYPE_NAMES[a.t]}`, node.pos);
      if (!this.state) throw this.typeError(`${fn} needs an operator with state`, node.pos);
      this.stateful = true;
      const state = this.state;
      for (const c of state.keys.columns) {
        if (!this.types.has(c))
          throw new ExprError(
            'POLAROID_EXPR_COLUMN',
            `the by column "${c}" is not in the input`,
            this.text,
            node.pos,
          );
        this.columns.add(c);
      }
      const site = state.site(`${this.site}@${node.pos}`, n);
      const t: ExprType = fn === 'diff' ? 'num' : a.t;
      return {
        t,
        ev: (b) => {
          const len = b.numRows;
          const x = a.ev(b);
          const keys = state.keysOf(b);
          const v = numValues(x, len);
          const prev = site.apply(b, keys, v, validOf(x, len));
          if (fn === 'shift') {
            if (t === 'bool') return { t: 'bool', v: Uint8Array.from(prev.v), valid: prev.valid };
            if (t === 'null') return { t: 'null' };
            return { t: t as 'num' | 'ts', v: prev.v, valid: prev.valid };
          }
          const out = new Float64Array(len);
          for (let i = 0; i < len; i++) out[i] = v[i] - prev.v[i];
          return { t: 'num', v: out, valid: bothValid(validOf(x, len), prev.valid, len) };
        },
      };
    }
    if (a.t !== 'num' && a.t !== 'null')
      throw this.typeError(`${fn} needs a number, got ${TYPE_NAMES[a.t]}`, node.pos);
    const digits = fn === 'round' ? this.intArg(node, 1, 0, -15) : 0;
    const f = 10 ** digits;
    const unary: (x: number) => number =
      fn === 'abs'
        ? Math.abs
        : fn === 'sqrt'
          ? Math.sqrt
          : fn === 'exp'
            ? Math.exp
            : fn === 'log'
              ? Math.log
              : (x) => roundHalfAway(x, f);
    return {
      t: 'num',
      ev: (b) => {
        const x = a.ev(b);
        if (x.t !== 'num') return x;
        const out = new Float64Array(x.v.length);
        for (let i = 0; i < out.length; i++) out[i] = unary(x.v[i]);
        return { t: 'num', v: out, valid: x.valid };
      },
    };
  }
}

function collectColumns(node: Node, out: Extract<Node, { k: 'col' }>[]): void {
  switch (node.k) {
    case 'col':
      out.push(node);
      return;
    case 'neg':
    case 'not':
    case 'isnull':
      collectColumns(node.arg, out);
      return;
    case 'in':
      collectColumns(node.arg, out);
      return;
    case 'bin':
      collectColumns(node.left, out);
      collectColumns(node.right, out);
      return;
    case 'call':
      for (const a of node.args) collectColumns(a, out);
      return;
    default:
      return;
  }
}

function validityBits(valid: Uint8Array | null): { nullBitmap: Uint8Array | undefined; nullCount: number } {
  if (valid === null) return { nullBitmap: undefined, nullCount: 0 };
  let nullCount = 0;
  const bits = new Uint8Array((valid.length + 7) >> 3);
  for (let i = 0; i < valid.length; i++) {
    if (valid[i]) bits[i >> 3] |= 1 << (i & 7);
    else nullCount++;
  }
  return nullCount === 0 ? { nullBitmap: undefined, nullCount: 0 } : { nullBitmap: bits, nullCount };
}

/** An evaluated column as an Arrow vector. */
export function colToVector(c: Col, n: number): Vector {
  if (c.t === 'null')
    return makeVector(
      makeData({ type: new Float64(), length: n, nullBitmap: new Uint8Array((n + 7) >> 3), nullCount: n }),
    );
  if (c.t === 'ts') {
    // A timestamp computed from NaN or infinity (`ts + 0 / 0`) has no int64 value: it is null.
    let valid = c.valid;
    for (let i = 0; i < n; i++)
      if (!Number.isFinite(c.v[i]) && (valid === null || valid[i])) {
        valid ??= new Uint8Array(n).fill(1);
        if (valid === c.valid) valid = Uint8Array.from(valid);
        valid[i] = 0;
      }
    const { nullBitmap, nullCount } = validityBits(valid);
    return makeVector(
      makeData({
        type: new TimestampMicrosecond('UTC'),
        length: n,
        data: float64ToInt64(c.v),
        nullBitmap,
        nullCount,
      }),
    );
  }
  const { nullBitmap, nullCount } = validityBits(c.valid);
  if (c.t === 'num')
    return makeVector(makeData({ type: new Float64(), length: n, data: c.v, nullBitmap, nullCount }));
  if (c.t === 'bool') {
    const bits = new Uint8Array((n + 7) >> 3);
    for (let i = 0; i < n; i++) if (c.v[i]) bits[i >> 3] |= 1 << (i & 7);
    return makeVector(makeData({ type: new Bool(), length: n, data: bits, nullBitmap, nullCount }));
  }
  const values: (string | null)[] = new Array(n);
  const sc = c as StrCol;
  for (let i = 0; i < n; i++) values[i] = sc.valid !== null && !sc.valid[i] ? null : sc.dict[sc.codes[i]];
  return vectorFromArray(values, new Utf8());
}

/**
 * Compile `text` against `schema`: parse, check names and types, and build the batch kernel.
 * Throws {@link ExprError} (code POLAROID_EXPR_SYNTAX, POLAROID_EXPR_COLUMN or POLAROID_EXPR_TYPE)
 * with the offset of the problem.
 */
export function compileExpression(
  text: string,
  schema: Schema,
  opts: CompileOptions = {},
): CompiledExpression {
  const ast = parseExpression(text);
  const types = new Map<string, ExprType>();
  const unsupported = new Map<string, DataType>();
  for (const f of schema.fields) {
    const t = columnType(f.type);
    if (t) types.set(f.name, t);
    else unsupported.set(f.name, f.type);
  }
  const refs: Extract<Node, { k: 'col' }>[] = [];
  collectColumns(ast, refs);
  const unknown = refs.filter((r) => !types.has(r.name) && !unsupported.has(r.name));
  if (unknown.length > 0) {
    const names = [...new Set(unknown.map((u) => `"${u.name}"`))];
    const quotedHint = unknown.some((u) => u.quoted) ? '; strings are in single quotes' : '';
    throw new ExprError(
      'POLAROID_EXPR_COLUMN',
      `unknown column${names.length > 1 ? 's' : ''} ${names.join(', ')}; columns are: ${schema.fields.map((f) => f.name).join(', ')}${quotedHint}`,
      text,
      unknown[0].pos,
    );
  }
  const bad = refs.find((r) => unsupported.has(r.name));
  if (bad)
    throw new ExprError(
      'POLAROID_EXPR_TYPE',
      `column "${bad.name}" has type ${unsupported.get(bad.name)}, which expressions cannot read`,
      text,
      bad.pos,
    );
  const state = opts.state ?? (usesWindow(ast) ? new ExprState(opts.by ?? []) : undefined);
  const c = new Compiler(text, types, state, opts.site ?? '');
  const root = c.compile(ast);
  const column = ast.k === 'col' ? ast.name : undefined;
  return {
    text,
    type: root.t,
    columns: [...c.columns],
    stateful: c.stateful,
    column,
    evaluate: (batch) => root.ev(batch),
    vector: (batch) =>
      column !== undefined ? batch.getChild(column)! : colToVector(root.ev(batch), batch.numRows),
    mask: (batch) => {
      if (root.t !== 'bool' && root.t !== 'null')
        throw new ExprError(
          'POLAROID_EXPR_TYPE',
          `a filter must be a boolean, this is ${TYPE_NAMES[root.t]}`,
          text,
          0,
        );
      const col = root.ev(batch);
      const n = batch.numRows;
      if (col.t !== 'bool') return new Uint8Array(n);
      if (col.valid === null) return col.v;
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = col.v[i] & col.valid[i];
      return out;
    },
  };
}

function usesWindow(node: Node): boolean {
  switch (node.k) {
    case 'call':
      return node.fn === 'shift' || node.fn === 'diff' || node.args.some(usesWindow);
    case 'neg':
    case 'not':
    case 'isnull':
    case 'in':
      return usesWindow(node.arg);
    case 'bin':
      return usesWindow(node.left) || usesWindow(node.right);
    default:
      return false;
  }
}
