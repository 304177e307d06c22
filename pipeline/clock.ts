/**
 * Injected time. Production code takes a {@link Clock}; tests pass a {@link VirtualClock} and move
 * time with `advance()` instead of sleeping.
 */
import { asyncScheduler, VirtualAction, VirtualTimeScheduler } from 'rxjs';
import type { Clock } from './types.ts';

/** Wall-clock time and RxJS's `asyncScheduler` (setTimeout-based timers). */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  scheduler: asyncScheduler,
});

/**
 * A clock for tests: an RxJS `VirtualTimeScheduler` whose frames are milliseconds, and `now()`
 * equal to `epochMs + scheduler.now()` so both always agree. Timers run only in `advance()`,
 * `advanceTo()` and `flush()`.
 */
export class VirtualClock implements Clock {
  readonly scheduler: VirtualTimeScheduler;
  private readonly epochMs: number;

  constructor(epochMs = 0) {
    this.epochMs = epochMs;
    this.scheduler = new VirtualTimeScheduler(VirtualAction, Number.POSITIVE_INFINITY);
  }

  now(): number {
    return this.epochMs + this.scheduler.now();
  }

  /** Move time forward by `ms`, running every timer due on the way, in time order. */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('a clock cannot go backwards');
    this.runUntil(this.scheduler.frame + ms);
  }

  /** Move time to the absolute instant `epochMs` (as returned by `now()`). */
  advanceTo(epochMs: number): void {
    this.advance(Math.max(0, epochMs - this.now()));
  }

  /** Run every scheduled timer, however far ahead, leaving time at the last one. */
  flush(): void {
    this.scheduler.maxFrames = Number.POSITIVE_INFINITY;
    this.scheduler.flush();
  }

  /** Number of timers waiting to run. */
  get pending(): number {
    return this.scheduler.actions.length;
  }

  private runUntil(frame: number): void {
    const s = this.scheduler;
    s.maxFrames = frame;
    try {
      s.flush();
    } finally {
      s.maxFrames = Number.POSITIVE_INFINITY;
    }
    if (s.frame < frame) s.frame = frame;
  }
}
