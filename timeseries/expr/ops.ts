/**
 * The expression operators: `filter` (keep rows where an expression is true), `select`
 * (projection, renames and computed columns) and `with_columns` (add or replace columns). Each is
 * an RxJS operator over batches plus a function over a whole table; both run the same code, and
 * `shift`/`diff` keep their per-key history across batches, so any split gives the same output.
 *
 * Expressions are compiled once per input schema (docs/expressions.md). A filter emits one batch
 * per input batch, possibly empty, carrying the input's acks: the dropped rows are intentionally
 * dropped, so their acks are released when the batch is delivered.
 *
 * @example
 * ```ts
 * batches.pipe(filterStream({ expr: "symbol in ['BTC-USD', 'ETH-USD'] and size > 0" }));
 * batches.pipe(withColumnsStream({ columns: { notional: 'price * size', ret: 'diff(log(price), 1)' }, by: ['symbol'] }));
 * ```
 */
import {
  Schema as ArrowSchema,
  type Data,
  type DataType,
  Field,
  makeData,
  RecordBatch,
  type Schema,
  Struct,
  Table,
  type TypeMap,
  type Vector,
} from 'apache-arrow';
import { defer, map, type OperatorFunction } from 'rxjs';
import { z } from 'zod';
import type { OpSpec, Registry } from '../../config/registry.ts';
import type { Batch } from '../../pipeline/types.ts';
import { chunksOf, gatherColumn } from '../asof-columns.ts';
import { type CompiledExpression, compileExpression, ExprState } from './compile.ts';
import { ExprError, parseExpression } from './parse.ts';

type By = string | readonly string[] | undefined;

export interface FilterOptions {
  /** A boolean expression; rows where it is false or null are dropped. */
  expr: string;
  /** Key column(s) partitioning shift/diff. */
  by?: By;
}

/** An item of `select`: a column name, or `{output name: expression}` entries. */
export type SelectItem = string | Readonly<Record<string, string>>;

export interface SelectOptions {
  columns: readonly SelectItem[];
  by?: By;
}

export interface WithColumnsOptions {
  /** Output name → expression; every expression sees the input columns. */
  columns: Readonly<Record<string, string>>;
  by?: By;
}

const byList = (by: By): string[] => (by === undefined ? [] : typeof by === 'string' ? [by] : [...by]);

/** Named expressions compiled for the latest input schema, sharing one shift/diff state. */
class Program {
  private readonly state: ExprState;
  private schema: Schema | undefined;
  private compiled: CompiledExpression[] = [];

  constructor(
    private readonly exprs: readonly string[],
    by: By,
    private readonly check?: (c: CompiledExpression, i: number) => void,
  ) {
    this.state = new ExprState(byList(by));
  }

  for(schema: Schema): CompiledExpression[] {
    if (schema !== this.schema && !(this.schema && sameFields(schema, this.schema))) {
      this.compiled = this.exprs.map((text, i) => {
        const c = compileExpression(text, schema, { state: this.state, site: String(i) });
        this.check?.(c, i);
        return c;
      });
      this.schema = schema;
    }
    return this.compiled;
  }
}

/** Same column names and types (a decoder may hand out a new but equal Schema per batch). */
function sameFields(a: Schema, b: Schema): boolean {
  if (a.fields.length !== b.fields.length) return false;
  return a.fields.every((f, i) => f.name === b.fields[i].name && String(f.type) === String(b.fields[i].type));
}

function batchOf(schema: Schema, children: Data[], length: number): RecordBatch {
  const data = makeData({
    type: new Struct(schema.fields as Field<DataType>[]),
    length,
    children,
    nullCount: 0,
  });
  return new RecordBatch(schema, data as Data<Struct<TypeMap>>);
}

function dataOf(v: Vector): Data {
  if (v.data.length !== 1) throw new Error('expected a single-chunk column');
  return v.data[0] as Data;
}

/** The rows of `b` where `keep` is 1, all columns gathered. */
export function takeRows(b: RecordBatch, keep: Uint8Array): RecordBatch {
  let count = 0;
  for (let i = 0; i < keep.length; i++) count += keep[i];
  if (count === b.numRows) return b;
  const rows = new Int32Array(count);
  for (let i = 0, o = 0; i < keep.length; i++) if (keep[i]) rows[o++] = i;
  const children = b.schema.fields.map((f) => dataOf(gatherColumn(chunksOf(b, f.name), undefined, rows)));
  return batchOf(b.schema, children, count);
}

/** Stateful filter over successive batches. */
class FilterRunner {
  private readonly program: Program;
  constructor(opts: FilterOptions) {
    this.program = new Program([opts.expr], opts.by, (c) => {
      if (c.type !== 'bool' && c.type !== 'null')
        throw new ExprError(
          'POLAROID_EXPR_TYPE',
          `a filter must be a boolean expression, this one is ${c.type}`,
          c.text,
          0,
        );
    });
  }
  apply(b: RecordBatch): RecordBatch {
    const [c] = this.program.for(b.schema);
    return takeRows(b, c.mask(b));
  }
}

interface Output {
  name: string;
  expr: string;
}

function selectOutputs(items: readonly SelectItem[]): Output[] {
  const out: Output[] = [];
  for (const item of items) {
    if (typeof item === 'string') {
      const ast = parseExpression(item);
      if (ast.k !== 'col')
        throw new ExprError(
          'POLAROID_EXPR_SYNTAX',
          `select item "${item}" is an expression; name it: {name: "${item}"}`,
          item,
          0,
        );
      out.push({ name: ast.name, expr: item });
    } else for (const [name, expr] of Object.entries(item)) out.push({ name, expr });
  }
  const seen = new Set<string>();
  for (const o of out) {
    if (seen.has(o.name))
      throw new ExprError('POLAROID_EXPR_SYNTAX', `select names column "${o.name}" twice`, o.expr, 0);
    seen.add(o.name);
  }
  return out;
}

/** Stateful projection / computed columns over successive batches. */
class ProjectRunner {
  private readonly program: Program;
  private layoutFor: Schema | undefined;
  private layout: { schema: Schema; source: number[] } | undefined;

  /** `replace`: keep the input columns (with_columns); otherwise only the outputs (select). */
  constructor(
    private readonly outputs: readonly Output[],
    by: By,
    private readonly keepInput: boolean,
  ) {
    this.program = new Program(
      outputs.map((o) => o.expr),
      by,
    );
  }

  apply(b: RecordBatch): RecordBatch {
    const compiled = this.program.for(b.schema);
    const vectors = compiled.map((c) => c.vector(b));
    if (this.layoutFor !== b.schema || !this.layout) {
      this.layout = this.plan(b.schema, vectors);
      this.layoutFor = b.schema;
    }
    const { schema, source } = this.layout;
    const children = source.map((j) => (j >= 0 ? (b.data.children[j] as Data) : dataOf(vectors[-1 - j])));
    return batchOf(schema, children, b.numRows);
  }

  /** Column order: input columns (replaced in place) then new outputs; or the outputs only. */
  private plan(input: Schema, vectors: Vector[]): { schema: Schema; source: number[] } {
    const fields: Field[] = [];
    const source: number[] = [];
    const placed = new Set<number>();
    const out = (a: number) => new Field(this.outputs[a].name, vectors[a].type, true);
    if (this.keepInput)
      input.fields.forEach((f, j) => {
        const a = this.outputs.findIndex((o) => o.name === f.name);
        if (a < 0) {
          fields.push(f);
          source.push(j);
        } else {
          fields.push(out(a));
          source.push(-1 - a);
          placed.add(a);
        }
      });
    this.outputs.forEach((_, a) => {
      if (!placed.has(a)) {
        fields.push(out(a));
        source.push(-1 - a);
      }
    });
    return { schema: new ArrowSchema(fields, input.metadata), source };
  }
}

interface Runner {
  apply(b: RecordBatch): RecordBatch;
}

function stream(make: () => Runner): OperatorFunction<Batch, Batch> {
  return (source) =>
    defer(() => {
      const runner = make();
      return source.pipe(map((b): Batch => ({ stream: b.stream, data: runner.apply(b.data), acks: b.acks })));
    });
}

function overTable(t: Table, runner: Runner): Table {
  const batches = t.batches.map((b) => runner.apply(b));
  return batches.length > 0 ? new Table(batches) : t;
}

const normalizeFilter = (o: FilterOptions | string): FilterOptions =>
  typeof o === 'string' ? { expr: o } : o;

/** Keep the rows where `expr` is true (batch mode). */
export function filter(table: Table, opts: FilterOptions | string): Table {
  return overTable(table, new FilterRunner(normalizeFilter(opts)));
}

/** Keep the rows where `expr` is true, batch by batch; acks travel with each (possibly empty) batch. */
export function filterStream(opts: FilterOptions | string): OperatorFunction<Batch, Batch> {
  const o = normalizeFilter(opts);
  parseExpression(o.expr);
  return stream(() => new FilterRunner(o));
}

/** Project columns, rename them or compute new ones (batch mode). */
export function select(table: Table, opts: SelectOptions): Table {
  return overTable(table, new ProjectRunner(selectOutputs(opts.columns), opts.by, false));
}

export function selectStream(opts: SelectOptions): OperatorFunction<Batch, Batch> {
  const outputs = selectOutputs(opts.columns);
  return stream(() => new ProjectRunner(outputs, opts.by, false));
}

const withOutputs = (cols: Readonly<Record<string, string>>): Output[] =>
  Object.entries(cols).map(([name, expr]) => {
    parseExpression(expr);
    return { name, expr };
  });

/** Add or replace columns (batch mode); every expression sees the input columns. */
export function withColumns(table: Table, opts: WithColumnsOptions): Table {
  return overTable(table, new ProjectRunner(withOutputs(opts.columns), opts.by, true));
}

export function withColumnsStream(opts: WithColumnsOptions): OperatorFunction<Batch, Batch> {
  const outputs = withOutputs(opts.columns);
  return stream(() => new ProjectRunner(outputs, opts.by, true));
}

/** A zod check that the text parses, reporting the parser's message (with its column). */
const zExpr = z
  .string()
  .min(1)
  .superRefine((text, ctx) => {
    try {
      parseExpression(text);
    } catch (e) {
      if (!(e instanceof ExprError)) throw e;
      ctx.addIssue({ code: 'custom', message: `${e.detail} at column ${e.position + 1}` });
    }
  });

const zBy = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .optional()
  .describe('Key column(s) partitioning shift() and diff() (usually the stream key, e.g. [symbol])');

export const zFilterConfig = z
  .union([
    zExpr.describe('Boolean expression; rows where it is false or null are dropped'),
    z
      .strictObject({
        expr: zExpr.describe('Boolean expression; rows where it is false or null are dropped'),
        by: zBy,
      })
      .describe('Filter with a key for shift/diff'),
  ])
  .describe('Keep the rows where the expression is true (docs/expressions.md)');
export type FilterConfig = z.output<typeof zFilterConfig>;

const zSelectItem = z
  .union([
    z.string().min(1).describe('A column name'),
    z.record(z.string().min(1), zExpr).describe('Output name → expression'),
  ])
  .describe('A column name, or {name: expression} entries');

export const zSelectConfig = z
  .union([
    z.array(zSelectItem).min(1).describe('Columns in output order'),
    z
      .strictObject({
        columns: z.array(zSelectItem).min(1).describe('Columns in output order'),
        by: zBy,
      })
      .describe('Select with a key for shift/diff'),
  ])
  .describe('Project, rename and compute columns; only the listed columns are kept');
export type SelectConfig = z.output<typeof zSelectConfig>;

export const zWithColumnsConfig = z
  .union([
    z
      .strictObject({
        columns: z.record(z.string().min(1), zExpr).describe('Output name → expression'),
        by: zBy,
      })
      .describe('Columns with a key for shift/diff'),
    z.record(z.string().min(1), zExpr).describe('Output name → expression'),
  ])
  .describe('Add or replace columns; each expression sees the input columns');
export type WithColumnsConfig = z.output<typeof zWithColumnsConfig>;

export const filterSpec: OpSpec<FilterConfig> = {
  kind: 'op',
  name: 'filter',
  summary:
    'Keep the rows where a boolean expression is true (null counts as false); acks of dropped rows are released.',
  stability: 'beta',
  config: zFilterConfig,
  examples: [
    { title: 'Two symbols, positive sizes', yaml: "\"symbol in ['BTC-USD', 'ETH-USD'] and size > 0\"\n" },
    { title: 'Price jumps per symbol', yaml: 'expr: abs(diff(price, 1)) > 5\nby: [symbol]\n' },
  ],
  create: (config) => filterStream(config),
};

export const selectSpec: OpSpec<SelectConfig> = {
  kind: 'op',
  name: 'select',
  summary: 'Keep, rename and compute columns: a list of names and {name: expression} entries.',
  stability: 'beta',
  config: zSelectConfig,
  examples: [
    {
      title: 'Projection with a computed column',
      yaml: '[ts, symbol, { px: price, notional: price * size }]\n',
    },
  ],
  create: (config) => selectStream(Array.isArray(config) ? { columns: config } : config),
};

export const withColumnsSpec: OpSpec<WithColumnsConfig> = {
  kind: 'op',
  name: 'with_columns',
  summary: 'Add or replace columns computed by expressions over the input columns.',
  stability: 'beta',
  config: zWithColumnsConfig,
  examples: [
    { title: 'Notional value', yaml: 'notional: price * size\n' },
    {
      title: 'Per-symbol log return',
      yaml: 'columns:\n  ret: log(price) - log(shift(price, 1))\nby: [symbol]\n',
    },
  ],
  create: (config) =>
    withColumnsStream(
      'columns' in config && typeof config.columns === 'object'
        ? (config as { columns: Record<string, string>; by?: By })
        : { columns: config as Record<string, string> },
    ),
};

/** Register the `filter`, `select` and `with_columns` ops. */
export function registerExprOps(registry: Registry): void {
  registry.register(filterSpec);
  registry.register(selectSpec);
  registry.register(withColumnsSpec);
}
