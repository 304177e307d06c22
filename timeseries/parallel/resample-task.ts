import type { TaskFn } from './tasks.ts';

/** Resample tasks run on pool workers (filled in by the parallel resample). */
export const resampleTasks: Record<string, TaskFn> = {};
