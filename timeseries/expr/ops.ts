/**
 * Registration of the expression operators: `filter`, `select`, `with_columns` (one file each).
 */
import type { Registry } from '../../config/registry.ts';
import { filterSpec } from './filter.ts';
import { selectSpec } from './select.ts';
import { withColumnsSpec } from './with-columns.ts';

export {
  type FilterConfig,
  type FilterOptions,
  filter,
  filterSpec,
  filterStream,
  zFilterConfig,
} from './filter.ts';
export { takeRows } from './runtime.ts';
export {
  type SelectConfig,
  type SelectItem,
  type SelectOptions,
  select,
  selectSpec,
  selectStream,
  zSelectConfig,
} from './select.ts';
export {
  type WithColumnsConfig,
  type WithColumnsOptions,
  withColumns,
  withColumnsSpec,
  withColumnsStream,
  zWithColumnsConfig,
} from './with-columns.ts';

/** Register the `filter`, `select` and `with_columns` ops. */
export function registerExprOps(registry: Registry): void {
  registry.register(filterSpec);
  registry.register(selectSpec);
  registry.register(withColumnsSpec);
}
