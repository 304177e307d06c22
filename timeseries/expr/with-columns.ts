/**
 * `with_columns`: add columns, or replace a column of the same name in place; every expression
 * sees the input columns (as Polars `with_columns`). See docs/expressions.md.
 *
 * @example
 * ```ts
 * batches.pipe(withColumnsStream({ columns: { notional: 'price * size', ret: 'diff(log(price), 1)' }, by: ['symbol'] }));
 * ```
 */
import type { Table } from 'apache-arrow';
import type { OperatorFunction } from 'rxjs';
import { z } from 'zod';
import type { OpSpec } from '../../config/registry.ts';
import type { Batch } from '../../pipeline/types.ts';
import { checkExpression } from './compile.ts';
import { type By, type Output, overTable, ProjectRunner, stream, zBy, zExpr } from './runtime.ts';

export interface WithColumnsOptions {
  /** Output name → expression; every expression sees the input columns. */
  columns: Readonly<Record<string, string>>;
  by?: By;
}

const withOutputs = (cols: Readonly<Record<string, string>>): Output[] =>
  Object.entries(cols).map(([name, expr]) => {
    checkExpression(expr);
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
