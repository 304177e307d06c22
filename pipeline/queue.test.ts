import { describe, expect, it } from 'vitest';
import { AckSet } from './acks.ts';
import { SourceQueue } from './queue.ts';
import { idBatch } from './testing.ts';
import type { Batch, FlowControl } from './types.ts';

function rows(n: number): Batch {
  return { stream: 's', data: idBatch(Array.from({ length: n }, (_, i) => i)), acks: AckSet.empty() };
}

function setup(flowControl: FlowControl, extra: { highWaterBytes?: number; lowWaterBytes?: number } = {}) {
  const calls: string[] = [];
  let staged = 0;
  let drops = 0;
  const q = new SourceQueue(
    { flowControl, highWaterRows: 100, lowWaterRows: 40, stagedRows: () => staged, ...extra },
    {
      pause: () => calls.push('pause'),
      resume: () => calls.push('resume'),
      onDrop: (n) => {
        drops += n;
      },
    },
  );
  return {
    q,
    calls,
    stage: (n: number) => {
      staged = n;
      q.check();
    },
    drops: () => drops,
  };
}

describe('SourceQueue', () => {
  it('pauses a pausable source at the high water mark and resumes at the low one', () => {
    const t = setup('pausable');
    t.q.push(rows(60), 600);
    t.q.push(rows(39), 390);
    expect(t.calls).toEqual([]);
    t.stage(1);
    expect(t.calls).toEqual(['pause']);
    expect(t.q.paused).toBe(true);
    expect(t.q.depthRows).toBe(100);
    t.stage(0);
    t.q.shift();
    expect(t.q.depthRows).toBe(39);
    expect(t.calls).toEqual(['pause', 'resume']);
    t.q.push(rows(60), 0);
    expect(t.calls).toEqual(['pause', 'resume']);
    t.q.push(rows(1), 0);
    expect(t.calls).toEqual(['pause', 'resume', 'pause']);
  });

  it('stays paused until the depth is at or below low water, not just below high water', () => {
    const t = setup('pausable');
    t.q.push(rows(50), 0);
    t.q.push(rows(10), 0);
    t.q.push(rows(40), 0);
    expect(t.calls).toEqual(['pause']);
    t.q.shift();
    expect(t.q.depthRows).toBe(50);
    expect(t.calls).toEqual(['pause']);
    t.q.shift();
    expect(t.q.depthRows).toBe(40);
    expect(t.calls).toEqual(['pause', 'resume']);
    expect(t.q.shift()?.data.numRows).toBe(40);
    expect(t.q.shift()).toBeUndefined();
  });

  it('applies byte water marks as well', () => {
    const t = setup('pausable', { highWaterBytes: 1_000, lowWaterBytes: 100 });
    t.q.push(rows(1), 1);
    expect(t.calls).toEqual([]);
    t.q.push(rows(1), 999);
    expect(t.calls).toEqual(['pause']);
    t.q.shift();
    expect(t.calls).toEqual(['pause']);
    t.q.shift();
    expect(t.calls).toEqual(['pause', 'resume']);
  });

  it('refuses messages of a lossy source while full, counting each drop', () => {
    const t = setup('lossy');
    expect(t.q.admit()).toBe(true);
    t.q.push(rows(100), 0);
    expect(t.q.admit()).toBe(false);
    expect(t.q.admit()).toBe(false);
    expect(t.drops()).toBe(2);
    expect(t.q.dropped).toBe(2);
    expect(t.calls).toEqual([]);
    t.q.shift();
    expect(t.q.admit()).toBe(true);
  });

  it('never pauses nor drops prefetch and poll sources', () => {
    for (const fc of ['prefetch', 'poll'] as const) {
      const t = setup(fc);
      t.q.push(rows(500), 0);
      expect(t.q.admit()).toBe(true);
      expect(t.calls).toEqual([]);
      expect(t.q.depthRows).toBe(500);
    }
  });

  it('keeps order across many pushes and shifts', () => {
    const t = setup('prefetch');
    const seen: number[] = [];
    for (let i = 0; i < 1_500; i++) {
      t.q.push(rows(i % 3), 0);
      if (i % 2 === 1) seen.push(t.q.shift()!.data.numRows);
    }
    while (t.q.length > 0) seen.push(t.q.shift()!.data.numRows);
    expect(seen).toEqual(Array.from({ length: 1_500 }, (_, i) => i % 3));
    expect(t.q.depthRows).toBe(0);
  });

  it('rejects water marks in the wrong order', () => {
    expect(
      () =>
        new SourceQueue(
          { flowControl: 'pausable', highWaterRows: 10, lowWaterRows: 10 },
          { pause() {}, resume() {} },
        ),
    ).toThrow(RangeError);
  });
});
