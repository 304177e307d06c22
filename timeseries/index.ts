/**
 * The time-series operators: batch functions (Arrow tables in and out), streaming operators
 * (RxJS over batches) and their registration as pipeline `ops:`.
 */
import type { Registry } from '../config/registry.ts';
import { registerAsof } from './asof-op.ts';
import { registerExprOps } from './expr/ops.ts';
import { registerResample } from './resample-op.ts';
import { registerRolling } from './rolling.ts';

export function register(registry: Registry): void {
  registerResample(registry);
  registerAsof(registry);
  registerRolling(registry);
  registerExprOps(registry);
}
