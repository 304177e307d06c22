import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type GapReport, SequenceTracker } from './sequence.ts';

function tracker(scope: 'global' | string[] = ['symbol']) {
  const gaps: GapReport[] = [];
  const t = new SequenceTracker('seq', scope, (g) => gaps.push(g));
  return { t, gaps };
}

describe('SequenceTracker', () => {
  it('reports each jump once per scope with the missing range', () => {
    const { t, gaps } = tracker();
    for (const [symbol, seq] of [
      ['A', 1],
      ['B', 10],
      ['A', 2],
      ['A', 5],
      ['B', 11],
      ['B', 13],
      ['A', 6],
    ] as const) {
      t.observe(`{"type":"trade","symbol":"${symbol}","seq":${seq},"price":1}`);
    }
    expect(gaps).toEqual([
      { scope: 'A', expected: 3, got: 5 },
      { scope: 'B', expected: 12, got: 13 },
    ]);
    expect(t.stats).toMatchObject({ gaps: 2, missing: 3, outOfOrder: 0, slowPath: 0 });
  });

  it('counts duplicates and older numbers as out of order without moving back', () => {
    const { t, gaps } = tracker('global');
    for (const seq of [1, 2, 2, 1, 3, 5]) t.observe(`{"seq":${seq}}`);
    expect(gaps).toEqual([{ scope: 'global', expected: 4, got: 5 }]);
    expect(t.stats.outOfOrder).toBe(2);
  });

  it('reads arrays of ticks, spaces, quoted numbers, numeric scopes and composite scopes', () => {
    const { t, gaps } = tracker(['type', 'venue']);
    t.observe('[{"type":"q","venue":1,"seq":"7"}, {"type" : "t", "venue" : 1, "seq" : 3}]');
    t.observe('[{"type":"q","venue":1,"seq":"9"},{"type":"t","venue":1,"seq":4}]');
    expect(gaps).toEqual([{ scope: 'q|1', expected: 8, got: 9 }]);
    // The spaced-out keys of the first message take the exact path; the compact one is scanned.
    expect(t.stats.slowPath).toBe(1);
  });

  it('falls back to JSON.parse when the fast path cannot pair fields, and stays exact', () => {
    const { t, gaps } = tracker();
    // A nested object with its own seq, an escaped symbol, an object without seq in an array.
    t.observe('{"symbol":"A","seq":1,"meta":{"seq":99}}');
    t.observe('{"symbol":"A\\"x","seq":1}');
    t.observe('[{"symbol":"A","seq":2},{"note":"no seq"}]');
    t.observe('{"symbol":"A","seq":4}');
    t.observe('{"type":"subscribed","symbols":["A"]}');
    t.observe('not json {"seq":');
    expect(gaps).toEqual([{ scope: 'A', expected: 3, got: 4 }]);
    expect(t.stats.slowPath).toBeGreaterThanOrEqual(3);
  });

  it('reset starts a new sequence space', () => {
    const { t, gaps } = tracker();
    t.observe('{"symbol":"A","seq":100}');
    t.reset();
    t.observe('{"symbol":"A","seq":7}');
    t.observe('{"symbol":"A","seq":8}');
    expect(gaps).toEqual([]);
    expect(t.stats.outOfOrder).toBe(0);
  });

  it('finds every dropped message and nothing else (property, any drop pattern and framing)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.boolean()), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 5 }),
        (ticks, perMessage) => {
          const symbols = ['A', 'B', 'C'];
          const next = [0, 0, 0];
          const kept: string[] = [];
          const dropped: string[] = [];
          for (const [s, drop] of ticks) {
            const seq = ++next[s];
            if (drop) dropped.push(`${symbols[s]}:${seq}`);
            else kept.push(`{"symbol":"${symbols[s]}","seq":${seq},"p":1.5}`);
          }
          const { t, gaps } = tracker();
          for (let i = 0; i < kept.length; i += perMessage) {
            const chunk = kept.slice(i, i + perMessage);
            t.observe(perMessage === 1 ? chunk[0] : `[${chunk.join(',')}]`);
          }
          const found = gaps.flatMap((g) =>
            Array.from({ length: g.got - g.expected }, (_, j) => `${g.scope}:${g.expected + j}`),
          );
          // Drops after the last kept message of a symbol cannot be seen yet.
          const lastKept = new Map<string, number>();
          for (const k of kept) {
            const m = JSON.parse(k);
            lastKept.set(m.symbol, m.seq);
          }
          const detectable = dropped.filter((d) => {
            const [sym, seq] = d.split(':');
            const first = kept.map((k) => JSON.parse(k)).find((m) => m.symbol === sym);
            return first !== undefined && Number(seq) > first.seq && Number(seq) < (lastKept.get(sym) ?? 0);
          });
          expect(found.sort()).toEqual(detectable.sort());
        },
      ),
      { numRuns: 200, seed: 17 },
    );
  });
});
