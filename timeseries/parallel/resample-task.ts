import { WindowConfigError } from '../kernels/calendar.ts';
import { ResampleEngine, type ResampleKernelOptions, UnsortedInputError } from '../kernels/resample.ts';
import type { PartBars } from '../kernels/resample-merge.ts';
import type { TaskFn } from './tasks.ts';

/**
 * Rows of one chunk for a worker: int64 µs times as 32-bit word pairs, and the rows' key codes,
 * prices and sizes (NaN for null), all over SharedArrayBuffers; `rowBase` is the first row's
 * number in the table.
 */
export interface ResampleSegment {
  words: Int32Array;
  codes: Int32Array | undefined;
  price: Float64Array;
  size: Float64Array;
  rowBase: number;
}

/** One worker's range of rows (possibly over several chunks) and the window options. */
export interface ResamplePart {
  opts: ResampleKernelOptions;
  keyCount: number;
  segments: ResampleSegment[];
}

/**
 * A worker's answer: its bars and each key's first and last valid time; or `rerun` when the range
 * raised an input or option error (time going backwards within a key, a window option the grid
 * refuses): the caller then reruns on one thread, which raises the operator's own error, with the
 * table's key names and row numbers, exactly when the single pass does.
 */
export type ResamplePartResult =
  | { rerun: false; bars: PartBars; first: Float64Array; last: Float64Array }
  | { rerun: true; reason: string };

/** The batch engine over one range, as the single-threaded operator runs it over all rows. */
export function resampleRange(part: ResamplePart): ResamplePartResult {
  let engine: ResampleEngine;
  try {
    engine = new ResampleEngine({ ...part.opts, mode: 'batch' });
    for (const s of part.segments)
      engine.pushInt64Times(s.words, s.codes, s.price, s.size, {
        rowBase: s.rowBase,
        keyCount: part.keyCount,
      });
  } catch (e) {
    if (e instanceof UnsortedInputError || e instanceof WindowConfigError)
      return { rerun: true, reason: e.message };
    throw e;
  }
  engine.flush();
  const b = engine.out;
  const n = b.length;
  // Copies of the used length only: the result is cloned back to the caller.
  const bars: PartBars = {
    length: n,
    key: b.key.slice(0, n),
    k: b.k.slice(0, n),
    start: b.start.slice(0, n),
    end: b.end.slice(0, n),
    open: b.open.slice(0, n),
    high: b.high.slice(0, n),
    low: b.low.slice(0, n),
    close: b.close.slice(0, n),
    volume: b.volume.slice(0, n),
    pv: b.pv.slice(0, n),
    trades: b.trades.slice(0, n),
    firstTs: b.firstTs.slice(0, n),
    lastTs: b.lastTs.slice(0, n),
  };
  return { rerun: false, bars, ...engine.keyTimeRanges() };
}

/** Resample tasks run on pool workers. */
export const resampleTasks: Record<string, TaskFn> = {
  'resample.range': resampleRange,
};
