/**
 * The expression language (docs/expressions.md): parser, compiler to column kernels, and the
 * `filter` / `select` / `with_columns` operators. `compileExpression` is the entry point for
 * other users such as server-side subscriber filters.
 */
export {
  type Col,
  type CompiledExpression,
  type CompileOptions,
  colToVector,
  columnType,
  compileExpression,
  ExprState,
  type ExprType,
} from './compile.ts';
export {
  type FilterOptions,
  filter,
  filterSpec,
  filterStream,
  registerExprOps,
  type SelectItem,
  type SelectOptions,
  select,
  selectSpec,
  selectStream,
  takeRows,
  type WithColumnsOptions,
  withColumns,
  withColumnsSpec,
  withColumnsStream,
} from './ops.ts';
export { ExprError, type Node, parseExpression, tokenize } from './parse.ts';
