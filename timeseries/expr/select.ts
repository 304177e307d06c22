/**
 * `select`: only the listed columns, in order: a bare name passes a column through unchanged,
 * `{name: expression}` renames or computes (docs/expressions.md).
 *
 * @example
 * ```ts
 * batches.pipe(selectStream({ columns: ['ts', 'symbol', { px: 'price', notional: 'price * size' }] }));
 * ```
 */
import type { Table } from 'apache-arrow';
import type { OperatorFunction } from 'rxjs';
import { z } from 'zod';
import type { OpSpec } from '../../config/registry.ts';
import type { Batch } from '../../pipeline/types.ts';
import { checkExpression } from './compile.ts';
import { ExprError } from './parse.ts';
import { type By, type Output, overTable, ProjectRunner, stream, zBy, zExpr } from './runtime.ts';

/** An item of `select`: a column name, or `{output name: expression}` entries. */
export type SelectItem = string | Readonly<Record<string, string>>;

export interface SelectOptions {
  columns: readonly SelectItem[];
  by?: By;
}

function selectOutputs(items: readonly SelectItem[]): Output[] {
  const out: Output[] = [];
  for (const item of items) {
    if (typeof item === 'string') {
      const ast = checkExpression(item);
      if (ast.k !== 'col')
        throw new ExprError(
          'POLAROID_EXPR_SYNTAX',
          `select item "${item}" is an expression; name it: {name: "${item}"}`,
          item,
          0,
        );
      out.push({ name: ast.name, expr: item });
    } else
      for (const [name, expr] of Object.entries(item)) {
        checkExpression(expr);
        out.push({ name, expr });
      }
  }
  const seen = new Set<string>();
  for (const o of out) {
    if (seen.has(o.name))
      throw new ExprError('POLAROID_EXPR_SYNTAX', `select names column "${o.name}" twice`, o.expr, 0);
    seen.add(o.name);
  }
  return out;
}

/** Project columns, rename them or compute new ones (batch mode). */
export function select(table: Table, opts: SelectOptions): Table {
  return overTable(table, new ProjectRunner(selectOutputs(opts.columns), opts.by, false));
}

export function selectStream(opts: SelectOptions): OperatorFunction<Batch, Batch> {
  const outputs = selectOutputs(opts.columns);
  return stream(() => new ProjectRunner(outputs, opts.by, false));
}

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
