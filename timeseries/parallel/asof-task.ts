import type { TaskFn } from './tasks.ts';

/** As-of join tasks run on pool workers (filled in by the parallel as-of join). */
export const asofTasks: Record<string, TaskFn> = {};
