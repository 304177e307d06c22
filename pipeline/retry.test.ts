import { type SchedulerAction, type SchedulerLike, Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { Backoff, RetryAbortedError, RetryExhaustedError, retry, seededRandom } from './retry.ts';

/** A scheduler that runs work on the next microtask and records the requested delays. */
function instantScheduler(delays: number[]): SchedulerLike {
  return {
    now: () => 0,
    schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
      delays.push(delay);
      const sub = new Subscription();
      queueMicrotask(() => {
        if (!sub.closed) work.call(sub as unknown as SchedulerAction<T>, state);
      });
      return sub;
    },
  };
}

describe('Backoff (W-2 shape)', () => {
  it('keeps 1000 consecutive delays inside [floor, min(cap, base*2^n)] with mean near half the window', () => {
    const b = new Backoff({ baseMs: 100, capMs: 10_000 }, seededRandom(7));
    const delays: number[] = [];
    for (let n = 0; n < 1000; n++) {
      const window = Math.min(10_000, 100 * 2 ** n);
      const d = b.next();
      expect(d).toBeGreaterThanOrEqual(50);
      expect(d).toBeLessThanOrEqual(window);
      delays.push(d);
    }
    // Past n = 7 the window is the cap; full jitter puts the mean at (floor + cap) / 2.
    const capped = delays.slice(10);
    const mean = capped.reduce((a, x) => a + x, 0) / capped.length;
    expect(Math.abs(mean - (50 + 10_000) / 2)).toBeLessThan(400);
    // Spread, not clustering: every tenth of the window gets a share of the delays.
    const deciles = new Array(10).fill(0);
    for (const d of capped) deciles[Math.min(9, Math.floor(d / 1000))]++;
    for (const c of deciles) expect(c).toBeGreaterThan(capped.length / 20);
  });

  it('grows the window exponentially, caps it, and starts over after reset', () => {
    const b = new Backoff({ baseMs: 200, capMs: 1000 }, () => 0.999999);
    expect([b.next(), b.next(), b.next(), b.next()].map(Math.round)).toEqual([200, 400, 800, 1000]);
    expect(b.attempt).toBe(4);
    b.reset();
    expect(b.attempt).toBe(0);
    expect(Math.round(b.next())).toBe(200);
  });

  it('honours an explicit floor of 0 (pure full jitter) and never overflows the cap', () => {
    const b = new Backoff({ baseMs: 10, capMs: 50, floorMs: 0 }, () => 0);
    expect(b.next()).toBe(0);
    for (let i = 0; i < 2000; i++) expect(b.next()).toBeLessThanOrEqual(50);
  });

  it('rejects a policy with cap below base', () => {
    expect(() => new Backoff({ baseMs: 100, capMs: 10 })).toThrow(RangeError);
  });

  it('does not synchronise 50 connectors with different seeds (≤ 10 % of instants in any 100 ms)', () => {
    const instantsByAttempt: number[][] = Array.from({ length: 8 }, () => []);
    for (let c = 0; c < 50; c++) {
      const b = new Backoff({ baseMs: 1000, capMs: 30_000 }, seededRandom(1000 + c));
      let t = 0;
      for (let k = 0; k < 8; k++) {
        t += b.next();
        instantsByAttempt[k].push(t);
      }
    }
    const maxShare = (xs: number[]) => {
      const buckets = new Map<number, number>();
      for (const x of xs) buckets.set(Math.floor(x / 100), (buckets.get(Math.floor(x / 100)) ?? 0) + 1);
      return Math.max(...buckets.values()) / xs.length;
    };
    // From the fourth failure on (window >= 8 s), each reconnect wave alone is spread out too.
    for (let k = 3; k < 8; k++) expect(maxShare(instantsByAttempt[k])).toBeLessThanOrEqual(0.1);
    expect(maxShare(instantsByAttempt.flat())).toBeLessThanOrEqual(0.1);
    // Negative control: connectors sharing one seed reconnect in lockstep, and the check sees it.
    const lockstep: number[] = [];
    for (let c = 0; c < 50; c++) {
      const b = new Backoff({ baseMs: 1000, capMs: 30_000 }, seededRandom(1));
      let t = 0;
      for (let k = 0; k < 3; k++) t += b.next();
      lockstep.push(t);
    }
    expect(maxShare(lockstep)).toBe(1);
  });
});

describe('retry', () => {
  it('retries retriable failures with backoff delays and returns the first success', async () => {
    const delays: number[] = [];
    const seen: number[] = [];
    const result = await retry(
      async (attempt) => {
        seen.push(attempt);
        if (attempt < 3) throw new Error(`fail ${attempt}`);
        return 'ok';
      },
      { baseMs: 100, capMs: 1000 },
      { scheduler: instantScheduler(delays), random: () => 0.5 },
    );
    expect(result).toBe('ok');
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(delays).toEqual([75, 125, 225]);
  });

  it('stops at once on an error marked retriable: false', async () => {
    const delays: number[] = [];
    const fatal = Object.assign(new Error('bad request'), { retriable: false });
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw fatal;
        },
        { baseMs: 1, capMs: 2 },
        { scheduler: instantScheduler(delays) },
      ),
    ).rejects.toBe(fatal);
    expect(calls).toBe(1);
    expect(delays).toEqual([]);
  });

  it('gives up after maxAttempts with the last error as cause', async () => {
    const err = await retry(
      async (attempt) => {
        throw new Error(`boom ${attempt}`);
      },
      { baseMs: 1, capMs: 2, maxAttempts: 3 },
      { scheduler: instantScheduler([]) },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryExhaustedError);
    expect((err as RetryExhaustedError).code).toBe('RETRY_EXHAUSTED');
    expect((err as RetryExhaustedError).attempts).toBe(3);
    expect(((err as Error).cause as Error).message).toBe('boom 2');
  });

  it('aborts a pending wait when the signal fires', async () => {
    const controller = new AbortController();
    const pending = retry(
      async () => {
        throw new Error('down');
      },
      { baseMs: 60_000, capMs: 60_000 },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(new Error('shutdown')), 5);
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryAbortedError);
    expect((err as RetryAbortedError).code).toBe('RETRY_ABORTED');
  });
});
