/**
 * Shared machinery of the expression operators (`filter`, `select`, `with_columns`): programs of
 * named expressions compiled once per input schema with one shared `shift`/`diff` state, row
 * gathering, the projection runner, and the RxJS / whole-table drivers. Batch and streaming mode
 * run the same runner, so `shift`/`diff` give the same output for any split of the input.
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
import type { Batch } from '../../pipeline/types.ts';
import { chunksOf, gatherColumn } from '../asof-columns.ts';
import { type CompiledExpression, checkExpression, compileExpression, ExprState } from './compile.ts';
import { ExprError } from './parse.ts';

export type By = string | readonly string[] | undefined;

export const byList = (by: By): string[] => (by === undefined ? [] : typeof by === 'string' ? [by] : [...by]);

/** Named expressions compiled for the latest input schema, sharing one shift/diff state. */
export class Program {
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

export interface Output {
  name: string;
  expr: string;
}

/** Stateful projection / computed columns over successive batches. */
export class ProjectRunner {
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

export interface Runner {
  apply(b: RecordBatch): RecordBatch;
}

export function stream(make: () => Runner): OperatorFunction<Batch, Batch> {
  return (source) =>
    defer(() => {
      const runner = make();
      return source.pipe(map((b): Batch => ({ stream: b.stream, data: runner.apply(b.data), acks: b.acks })));
    });
}

export function overTable(t: Table, runner: Runner): Table {
  const batches = t.batches.map((b) => runner.apply(b));
  return batches.length > 0 ? new Table(batches) : t;
}

/** A zod check that the text parses, reporting the parser's message (with its column). */
export const zExpr = z
  .string()
  .min(1)
  .superRefine((text, ctx) => {
    try {
      checkExpression(text);
    } catch (e) {
      if (!(e instanceof ExprError)) throw e;
      ctx.addIssue({ code: 'custom', message: `${e.detail} at column ${e.position + 1}` });
    }
  });

export const zBy = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .optional()
  .describe('Key column(s) partitioning shift() and diff() (usually the stream key, e.g. [symbol])');
