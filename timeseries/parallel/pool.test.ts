import { afterAll, describe, expect, it } from 'vitest';
import {
  closePool,
  PoolConfigError,
  PoolTaskError,
  PoolTimeoutError,
  parallelism,
  runTasks,
  setParallelism,
} from './pool.ts';
import { sharedArray } from './shared.ts';

afterAll(async () => {
  setParallelism(undefined);
  await closePool();
});

describe('worker pool', () => {
  it('runs one part per worker on a cold pool and returns the results in order', () => {
    const data = sharedArray(Float64Array, 1000);
    for (let i = 0; i < data.length; i++) data[i] = i;
    const sums = runTasks<number>('pool.sum', [
      { data, from: 0, to: 500 },
      { data, from: 500, to: 1000 },
    ]);
    expect(sums).toEqual([(499 * 500) / 2, (999 * 1000) / 2 - (499 * 500) / 2]);
  });

  it('sees writes of the caller to shared memory made between calls', () => {
    const data = sharedArray(Float64Array, 4);
    data.set([1, 2, 3, 4]);
    expect(runTasks<number>('pool.sum', [{ data, from: 0, to: 4 }])).toEqual([10]);
    data[3] = 40;
    expect(runTasks<number>('pool.sum', [{ data, from: 0, to: 4 }])).toEqual([46]);
  });

  it('clones plain parts and results', () => {
    expect(runTasks('pool.echo', [{ a: 1, b: [2, 3] }, 'x'])).toEqual([{ a: 1, b: [2, 3] }, 'x']);
  });

  it('rethrows a task failure after every part is done, and keeps working afterwards', () => {
    let err: unknown;
    try {
      runTasks('pool.fail', [{ message: 'bad part' }, { message: 'other' }]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PoolTaskError);
    expect((err as Error).message).toBe('pool task "pool.fail" failed: RangeError: bad part');
    expect(runTasks('pool.echo', [7])).toEqual([7]);
  });

  it('gives up on a worker that overruns the timeout, and replaces it', () => {
    expect(() => runTasks('pool.spin', [{ ms: 5000 }], 200)).toThrow(PoolTimeoutError);
    expect(runTasks('pool.echo', ['again'])).toEqual(['again']);
  });

  it('names an unknown task', () => {
    expect(() => runTasks('nope', [1])).toThrow('unknown pool task "nope"');
  });

  it('reads the thread count from POLAROID_THREADS, rejecting nonsense', () => {
    const saved = process.env.POLAROID_THREADS;
    try {
      process.env.POLAROID_THREADS = '3';
      expect(parallelism()).toBe(3);
      process.env.POLAROID_THREADS = 'two';
      expect(() => parallelism()).toThrow(PoolConfigError);
      setParallelism(1);
      expect(parallelism()).toBe(1);
      setParallelism(undefined);
      process.env.POLAROID_THREADS = '';
      expect(parallelism()).toBeGreaterThanOrEqual(1);
    } finally {
      if (saved === undefined) delete process.env.POLAROID_THREADS;
      else process.env.POLAROID_THREADS = saved;
    }
    expect(() => setParallelism(0)).toThrow(PoolConfigError);
  });
});
