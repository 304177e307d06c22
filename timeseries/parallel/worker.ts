/**
 * The loop of a pool worker thread. Each request names a task of {@link TASKS}, its part and a
 * shared flag (the first one also brings the port to answer on); the worker runs the task, posts `{ ok, value }` or
 * `{ ok: false, error }` on the port, then raises the flag and wakes the waiting thread (which
 * reads the answer synchronously; see pool.ts). After each answer it runs a minor collection
 * (pool.ts, Memory).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type MessagePort, parentPort } from 'node:worker_threads';
import { TASKS } from './tasks.ts';

interface Request {
  task: string;
  part: unknown;
  /** The answer port, sent with the first request only. */
  port: MessagePort | undefined;
  flag: Int32Array;
  slot: number;
}

let answers: MessagePort | undefined;

// A worker cannot be started with V8 flags, so `gc` is exposed by setting the flag at run time
// (it is process-wide and only affects contexts created later, such as this new one).
setFlagsFromString('--expose-gc');
const gc = runInNewContext("typeof gc === 'function' ? gc : undefined") as
  | ((options: { type: 'minor' | 'major' }) => void)
  | undefined;

/**
 * A scavenge of the young generation, once the request's handler has returned (so the part, and
 * its handles to the caller's SharedArrayBuffers, are unreachable). Never throws: an exception
 * here would end the worker while the pool believes it idle.
 */
function collectYoung(): void {
  try {
    gc?.({ type: 'minor' });
  } catch {
    // No collection this time; the worker's own collections will free the handles later.
  }
}

parentPort!.on('message', (req: Request) => {
  if (req.port) answers = req.port;
  let answer: unknown;
  try {
    const fn = TASKS[req.task];
    if (!fn) throw new Error(`unknown pool task "${req.task}"`);
    answer = { ok: true, value: fn(req.part) };
  } catch (e) {
    const err = e as Error;
    answer = {
      ok: false,
      error: { name: err?.name ?? 'Error', message: err?.message ?? String(e), stack: err?.stack },
    };
  }
  answers!.postMessage(answer);
  Atomics.store(req.flag, req.slot, 1);
  Atomics.notify(req.flag, req.slot);
  setImmediate(collectYoung);
});
