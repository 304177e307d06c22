/**
 * The loop of a pool worker thread. Each request names a task of {@link TASKS}, its part and a
 * shared flag (the first one also brings the port to answer on); the worker runs the task, posts `{ ok, value }` or
 * `{ ok: false, error }` on the port, then raises the flag and wakes the waiting thread (which
 * reads the answer synchronously; see pool.ts).
 */
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
});
