/**
 * The one retry module (STYLE.md 5): capped exponential backoff with full jitter, and a `retry`
 * helper built on it. Connectors reconnect with {@link Backoff}; sinks retry in place with
 * {@link retry}. Never copy a retry loop into a component.
 *
 * Delay of the n-th consecutive failure (n = 0, 1, 2, ...):
 *
 *   window(n) = min(cap, base * 2^n)
 *   delay(n)  = floor + U * (window(n) - floor),  U uniform in [0, 1),  floor = min(base / 2, window(n))
 *
 * That is full jitter ("Exponential Backoff And Jitter", AWS architecture blog, 2015) over the
 * window [0, window(n)], with one deliberate floor: no delay is below `base / 2`, so consecutive
 * failures never hammer a server back to back (RELIABILITY.md W-2). The floor can be set with
 * `floorMs` (0 gives pure full jitter). The mean delay is (floor + window) / 2, i.e. about half
 * the window once the window is much larger than base. A success calls `reset()` and the next
 * failure starts again at n = 0.
 */
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { PolaroidError } from './errors.ts';

export interface BackoffPolicy {
  /** First window in ms (the window doubles per consecutive failure). */
  baseMs: number;
  /** Largest window in ms. */
  capMs: number;
  /** Smallest delay in ms; default base / 2. Clamped to the window. */
  floorMs?: number;
}

/** A source of uniform numbers in [0, 1); injected so tests are deterministic. */
export type Random = () => number;

/**
 * A small seeded PRNG (mulberry32): 32-bit state, uniform in [0, 1). Good enough for jitter and
 * simulated markets; not for anything secret.
 */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Capped exponential backoff with full jitter and a floor; see the module comment. */
export class Backoff {
  private failures = 0;
  private readonly random: Random;
  readonly policy: Readonly<Required<BackoffPolicy>>;

  constructor(policy: BackoffPolicy, random: Random = Math.random) {
    if (!(policy.baseMs > 0) || !(policy.capMs >= policy.baseMs)) {
      throw new RangeError(`backoff needs 0 < base <= cap (got base=${policy.baseMs}, cap=${policy.capMs})`);
    }
    this.policy = { floorMs: policy.baseMs / 2, ...policy };
    this.random = random;
  }

  /** Consecutive failures so far (the n of the next delay). */
  get attempt(): number {
    return this.failures;
  }

  /** The window [0, window] the next delay is drawn from. */
  window(n = this.failures): number {
    // 2^n overflows to Infinity for large n; min() keeps the cap.
    return Math.min(this.policy.capMs, this.policy.baseMs * 2 ** n);
  }

  /** Record a failure and return how long to wait before the next attempt, in ms. */
  next(): number {
    const w = this.window();
    const floor = Math.min(this.policy.floorMs, w);
    this.failures++;
    return floor + this.random() * (w - floor);
  }

  /** Record a success: the next failure starts from the first window again. */
  reset(): void {
    this.failures = 0;
  }
}

/** Error codes of this module (stable; tests and logs match on them). */
export class RetryExhaustedError extends PolaroidError {
  readonly code = 'RETRY_EXHAUSTED';
  readonly retriable = false;
  readonly attempts: number;
  constructor(attempts: number, cause: unknown) {
    super(`gave up after ${attempts} attempts: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.attempts = attempts;
  }
}

export class RetryAbortedError extends PolaroidError {
  readonly code = 'RETRY_ABORTED';
  readonly retriable = false;
  constructor(cause?: unknown) {
    super('retry aborted', { cause });
  }
}

export interface RetryPolicy extends BackoffPolicy {
  /** Total attempts including the first; default unlimited. */
  maxAttempts?: number;
}

export interface RetryOptions {
  signal?: AbortSignal;
  /** Timers (default rxjs asyncScheduler). */
  scheduler?: SchedulerLike;
  random?: Random;
  /**
   * Whether an error is worth another attempt. Default: everything except errors with
   * `retriable === false` (the convention of our error classes).
   */
  isRetriable?: (err: unknown) => boolean;
  /** Called before each wait, e.g. to log or count. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

function defaultRetriable(err: unknown): boolean {
  return !(typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === false);
}

/** Resolves after `ms` on `scheduler`, or rejects with RetryAbortedError when `signal` aborts. */
export function sleep(
  ms: number,
  scheduler: SchedulerLike = asyncScheduler,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new RetryAbortedError(signal.reason));
      return;
    }
    const onAbort = () => {
      sub.unsubscribe();
      reject(new RetryAbortedError(signal?.reason));
    };
    const sub = scheduler.schedule(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Run `fn` until it resolves, waiting a {@link Backoff} delay after each retriable failure.
 * A non-retriable error is rethrown as is; running out of attempts throws
 * {@link RetryExhaustedError} (with the last error as cause); an abort throws
 * {@link RetryAbortedError}. `fn` receives the attempt number (0-based) and the signal.
 */
export async function retry<T>(
  fn: (attempt: number, signal?: AbortSignal) => Promise<T>,
  policy: RetryPolicy,
  options: RetryOptions = {},
): Promise<T> {
  const backoff = new Backoff(policy, options.random);
  const isRetriable = options.isRetriable ?? defaultRetriable;
  const max = policy.maxAttempts ?? Number.POSITIVE_INFINITY;
  for (let attempt = 0; ; attempt++) {
    if (options.signal?.aborted) throw new RetryAbortedError(options.signal.reason);
    try {
      return await fn(attempt, options.signal);
    } catch (err) {
      if (!isRetriable(err)) throw err;
      if (attempt + 1 >= max) throw new RetryExhaustedError(attempt + 1, err);
      const delay = backoff.next();
      options.onRetry?.(err, attempt, delay);
      await sleep(delay, options.scheduler, options.signal);
    }
  }
}
