/**
 * A process-wide pool of worker threads for the batch operators, used synchronously: the caller
 * hands one part to each worker, blocks until every part is done, and gets the results in order.
 * Parts carry typed arrays over SharedArrayBuffers (see shared.ts), so the workers read the
 * caller's columns and write its outputs without copying.
 *
 * - Size: `POLAROID_THREADS` (an integer >= 1) or the machine's available parallelism. With one
 *   thread the operators never call the pool.
 * - Workers start on first use and are unreferenced, so an idle pool never keeps the process alive.
 * - Memory: a worker's copy of a part (its SharedArrayBuffer handles) lives until that worker's
 *   next garbage collection, so the shared buffers of a call (outputs included) are freed only
 *   once both the caller and the worker have dropped them, and V8 does not count
 *   SharedArrayBuffers towards a collection in any thread: a worker that allocates little may
 *   keep every call's buffers for many calls. So a worker runs a minor collection (a scavenge of
 *   its young generation, where a task's handles still are) after each task, once its answer is
 *   posted: the caller does not wait for it, and it took 0.2-0.4 ms, at times 2-9 ms. Measured
 *   over batch `rolling` calls on 10M rows (154 MB of shared output each) with the caller
 *   collecting after each call: without it the resident size grew by 154 MB a call, to 3 GB after
 *   23 calls (then the workers collected); with it, it stayed within 0.5 GB of the start (the
 *   buffers of the last three calls at most). A full collection instead freed no more and cost
 *   about 30 ms a call on the asof bench. The caller's own handles go with its collections, which
 *   its other allocations trigger (docs/rolling.md, Threads and shared memory).
 * - The caller waits with `Atomics.wait` and reads each answer with `receiveMessageOnPort`, so the
 *   operators stay synchronous functions.
 * - A task that throws rethrows in the caller as {@link PoolTaskError} with the worker's message.
 *   A worker that does not answer within the timeout is terminated and replaced, and the call
 *   throws {@link PoolTimeoutError}.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { PolaroidError } from '../../pipeline/errors.ts';

/** A pool task threw; `taskName` and the worker's error name and message are kept. */
export class PoolTaskError extends PolaroidError {
  readonly code = 'POOL_TASK_FAILED';
  readonly retriable = false;
  constructor(
    readonly taskName: string,
    readonly errorName: string,
    message: string,
  ) {
    super(`pool task "${taskName}" failed: ${errorName}: ${message}`);
  }
}

/** A worker did not answer in time (it was terminated and will be replaced). */
export class PoolTimeoutError extends PolaroidError {
  readonly code = 'POOL_TIMEOUT';
  readonly retriable = true;
  constructor(taskName: string, timeoutMs: number) {
    super(`pool task "${taskName}" did not finish within ${timeoutMs} ms`);
  }
}

/** Bad `POLAROID_THREADS`. */
export class PoolConfigError extends PolaroidError {
  readonly code = 'POOL_CONFIG';
  readonly retriable = false;
}

interface Slot {
  worker: Worker;
  /** Where this thread reads the worker's answers. */
  answers: MessagePort;
  /** The worker's end of the answer channel, until it is sent with the first request. */
  reply: MessagePort | undefined;
}

const BOOT = new URL('./worker-boot.mjs', import.meta.url);
const slots: (Slot | undefined)[] = [];
let threadsOverride: number | undefined;

/** Threads the batch operators may use: `POLAROID_THREADS`, else the machine's parallelism. */
export function parallelism(): number {
  if (threadsOverride !== undefined) return threadsOverride;
  const env = process.env.POLAROID_THREADS;
  if (env === undefined || env === '') return Math.max(1, availableParallelism());
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1)
    throw new PoolConfigError(`POLAROID_THREADS must be an integer >= 1, got "${env}"`);
  return n;
}

/**
 * Set the thread count for this process (tests and benchmarks compare 1 thread with several);
 * `undefined` goes back to `POLAROID_THREADS` or the machine's parallelism.
 */
export function setParallelism(n: number | undefined): void {
  if (n !== undefined && !(Number.isInteger(n) && n >= 1))
    throw new PoolConfigError(`thread count must be an integer >= 1, got ${n}`);
  threadsOverride = n;
}

function slot(i: number): Slot {
  let s = slots[i];
  if (s === undefined) {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(BOOT, { name: `polaroid-pool-${i}` });
    worker.unref();
    port1.unref();
    // A worker that dies (out of memory, a fatal error) is replaced on the next call.
    worker.on('exit', () => {
      if (slots[i]?.worker === worker) slots[i] = undefined;
    });
    worker.on('error', () => {});
    s = { worker, answers: port1, reply: port2 };
    slots[i] = s;
  }
  return s;
}

/**
 * Run `task` on `parts.length` workers at once (one part each) and return the results in order.
 * Blocks the calling thread until all are done. The first failure (in part order) is thrown after
 * every part has finished, so no worker is still writing to shared outputs when this returns.
 */
export function runTasks<R>(task: string, parts: readonly unknown[], timeoutMs = 120_000): R[] {
  if (parts.length === 0) return [];
  const flag = new Int32Array(new SharedArrayBuffer(4 * parts.length));
  const used = parts.map((_, i) => slot(i));
  used.forEach((s, i) => {
    const port = s.reply;
    s.worker.postMessage({ task, part: parts[i], flag, slot: i, port }, port ? [port] : []);
    s.reply = undefined;
  });
  const deadline = Date.now() + timeoutMs;
  let timedOut = -1;
  for (let i = 0; i < parts.length; i++) {
    while (Atomics.load(flag, i) === 0) {
      const left = deadline - Date.now();
      if (left <= 0) {
        timedOut = i;
        break;
      }
      Atomics.wait(flag, i, 0, Math.min(left, 1000));
    }
    if (timedOut >= 0) break;
  }
  if (timedOut >= 0) {
    for (let i = 0; i < parts.length; i++)
      if (Atomics.load(flag, i) === 0) {
        void used[i].worker.terminate();
        slots[i] = undefined;
      }
    throw new PoolTimeoutError(task, timeoutMs);
  }
  const results: R[] = [];
  let failure: PoolTaskError | undefined;
  used.forEach((s) => {
    const msg = receiveMessageOnPort(s.answers)?.message as
      | { ok: true; value: R }
      | { ok: false; error: { name: string; message: string } }
      | undefined;
    if (msg === undefined) throw new Error(`pool task "${task}": a worker set its flag without an answer`);
    if (msg.ok) results.push(msg.value);
    else {
      failure ??= new PoolTaskError(task, msg.error.name, msg.error.message);
      results.push(undefined as R);
    }
  });
  if (failure) throw failure;
  return results;
}

/** Stop every worker (tests; a process exit does it anyway). */
export async function closePool(): Promise<void> {
  const all = slots.splice(0).filter((s): s is Slot => s !== undefined);
  await Promise.all(all.map((s) => s.worker.terminate()));
}
