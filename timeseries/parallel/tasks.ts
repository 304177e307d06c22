/**
 * The table of tasks a pool worker can run, by name. A task takes one part (plain values,
 * typed arrays over SharedArrayBuffers) and returns a structured-cloneable result. Task modules
 * import kernels only (never apache-arrow or rxjs), so a worker stays small and its typed-array
 * access is not slowed by a detached ArrayBuffer elsewhere in the process.
 */
import { asofTasks } from './asof-task.ts';
import { resampleTasks } from './resample-task.ts';
import { rollingTasks } from './rolling-task.ts';

export type TaskFn = (part: any) => unknown;

export const TASKS: Readonly<Record<string, TaskFn>> = {
  ...asofTasks,
  ...resampleTasks,
  ...rollingTasks,
  ...selfTest(),
};

/**
 * Tasks the pool's own tests use: an echo of the part, a sum over a shared range, a failure, and a
 * busy loop (to overrun a timeout).
 */
function selfTest(): Record<string, TaskFn> {
  return {
    'pool.echo': (part: unknown) => part,
    'pool.sum': (part: { data: Float64Array; from: number; to: number }) => {
      let s = 0;
      for (let i = part.from; i < part.to; i++) s += part.data[i];
      return s;
    },
    'pool.fail': (part: { message: string }) => {
      throw new RangeError(part.message);
    },
    'pool.spin': (part: { ms: number }) => {
      const until = Date.now() + part.ms;
      let n = 0;
      while (Date.now() < until) n++;
      return n;
    },
  };
}
