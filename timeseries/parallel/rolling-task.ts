import { type KeyParts, RollingKernel, type RollingKernelOptions } from '../kernels/rolling.ts';
import type { TaskFn } from './tasks.ts';

/**
 * One worker's share of a batch `rolling` call: every row of the table, over SharedArrayBuffers,
 * of which it aggregates the rows of the keys of part `part` of `split` and writes those rows of
 * the output columns (the other parts write the other rows). `ts` is int64 µs or float64 µs.
 */
export interface RollingPart {
  opts: RollingKernelOptions;
  ts: BigInt64Array | Float64Array;
  keys: Int32Array;
  cols: Float64Array[];
  out: Float64Array[];
  split: KeyParts;
  part: number;
}

/**
 * A part's answer: its first row earlier than its key's previous row (-1 if none), the rows it
 * skipped as such (`unsorted: 'skip'`), and per aggregate the null count, first and last null row
 * of its rows (3 slots per aggregate, as {@link RollingKernel.process} reports them).
 */
export interface RollingPartResult {
  unsortedRow: number;
  skipped: number;
  nulls: Float64Array;
}

/** The rolling kernel over the rows of one part's keys (kernels/rolling.ts `processPart`). */
export function rollingPart(p: RollingPart): RollingPartResult {
  const kernel = new RollingKernel(p.opts);
  const nulls = new Float64Array(3 * p.out.length);
  const unsortedRow = kernel.processPart(p.ts, p.keys, p.cols, p.out, nulls, p.split, p.part);
  return { unsortedRow, skipped: kernel.skipped, nulls };
}

/**
 * Together, the answers of every part of a split: the first unsorted row of all, the skipped rows,
 * and the null counts with the first and last null row of all (what one pass over every row gives).
 */
export function mergeRollingParts(results: readonly RollingPartResult[], aggs: number): RollingPartResult {
  let unsortedRow = -1;
  let skipped = 0;
  const nulls = new Float64Array(3 * aggs);
  for (let a = 0; a < aggs; a++) {
    nulls[3 * a + 1] = -1;
    nulls[3 * a + 2] = -1;
  }
  for (const r of results) {
    if (r.unsortedRow >= 0 && (unsortedRow < 0 || r.unsortedRow < unsortedRow)) unsortedRow = r.unsortedRow;
    skipped += r.skipped;
    for (let a = 0; a < aggs; a++) {
      if (r.nulls[3 * a] === 0) continue;
      const first = nulls[3 * a] === 0 ? r.nulls[3 * a + 1] : Math.min(nulls[3 * a + 1], r.nulls[3 * a + 1]);
      nulls[3 * a] += r.nulls[3 * a];
      nulls[3 * a + 1] = first;
      nulls[3 * a + 2] = Math.max(nulls[3 * a + 2], r.nulls[3 * a + 2]);
    }
  }
  return { unsortedRow, skipped, nulls };
}

export const ROLLING_PART = 'rolling.part';

/** Rolling tasks run on pool workers. */
export const rollingTasks: Record<string, TaskFn> = {
  [ROLLING_PART]: rollingPart,
};
