import { asofBackwardFusedJs, type FusedPart } from '../kernels/asof-fused.ts';
import type { TaskFn } from './tasks.ts';

/**
 * The fused backward as-of merge over one range of left rows (kernels/asof-fused.ts), by the
 * TypeScript kernel: the pool runs a join only when the native kernels are off for the caller
 * (with them, the native kernel splits the rows over threads of its own).
 */
export const ASOF_BACKWARD_FUSED = 'asof.backwardFused';

/** As-of join tasks run on pool workers: each returns a part's null count, or -1 (not in order). */
export const asofTasks: Record<string, TaskFn> = {
  [ASOF_BACKWARD_FUSED]: (part: FusedPart) => asofBackwardFusedJs(part),
};
