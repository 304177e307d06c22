/**
 * `filter`: keep the rows where a boolean expression is true (false and null drop the row, SQL
 * three-valued logic). One output batch per input batch, possibly empty, carrying the input's
 * acks: the dropped rows are intentionally dropped, so their acks are released when the batch is
 * delivered. `shift`/`diff` in the expression are partitioned by `by` and keep their history
 * across batches (docs/expressions.md).
 *
 * @example
 * ```ts
 * batches.pipe(filterStream("symbol in ['BTC-USD', 'ETH-USD'] and size > 0"));
 * batches.pipe(filterStream({ expr: 'abs(diff(price, 1)) > 5', by: 'symbol' }));
 * ```
 */
import type { RecordBatch, Table } from 'apache-arrow';
import type { OperatorFunction } from 'rxjs';
import { z } from 'zod';
import type { OpSpec } from '../../config/registry.ts';
import type { Batch } from '../../pipeline/types.ts';
import { checkExpression } from './compile.ts';
import { ExprError } from './parse.ts';
import { type By, overTable, Program, stream, takeRows, zBy, zExpr } from './runtime.ts';

export interface FilterOptions {
  /** A boolean expression; rows where it is false or null are dropped. */
  expr: string;
  /** Key column(s) partitioning shift/diff. */
  by?: By;
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

const normalizeFilter = (o: FilterOptions | string): FilterOptions =>
  typeof o === 'string' ? { expr: o } : o;

/** Keep the rows where `expr` is true (batch mode). */
export function filter(table: Table, opts: FilterOptions | string): Table {
  return overTable(table, new FilterRunner(normalizeFilter(opts)));
}

/** Keep the rows where `expr` is true, batch by batch; acks travel with each (possibly empty) batch. */
export function filterStream(opts: FilterOptions | string): OperatorFunction<Batch, Batch> {
  const o = normalizeFilter(opts);
  checkExpression(o.expr);
  return stream(() => new FilterRunner(o));
}

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
