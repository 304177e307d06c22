import { tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { boolVector, dictionaryVector, float64Vector, tableFromVectors, timestampVector } from '../arrow.ts';
import { isSharedVector, shareTable } from './shared.ts';

describe('shareTable', () => {
  const valid = Uint8Array.of(1, 0, 1);
  const t = tableFromVectors({
    ts: timestampVector(Float64Array.of(1, 2, 3)),
    sym: dictionaryVector(Int32Array.of(0, 1, 0), ['A', 'B']),
    px: float64Vector(Float64Array.of(1.5, 0, 2.5), valid),
    flag: boolVector(Uint8Array.of(1, 0, 1)),
  });

  it('moves every buffer to shared memory and keeps the values, nulls and schema', () => {
    expect(t.schema.fields.some((f) => isSharedVector(t.getChild(f.name)!))).toBe(false);
    const s = shareTable(t);
    for (const f of s.schema.fields) expect(isSharedVector(s.getChild(f.name)!), f.name).toBe(true);
    expect(s.schema).toEqual(t.schema);
    expect(s.toArray().map((r) => r.toJSON())).toEqual(t.toArray().map((r) => r.toJSON()));
    expect(s.getChild('px')!.nullCount).toBe(1);
    expect(tableToIPC(s)).toEqual(tableToIPC(t));
  });

  it('shares a table without rows', () => {
    const empty = tableFromVectors({
      ts: timestampVector(new Float64Array(0)),
      sym: dictionaryVector(new Int32Array(0), ['A']),
    });
    const s = shareTable(empty);
    expect(s.numRows).toBe(0);
    expect(s.schema).toEqual(empty.schema);
    expect(shareTable(s)).toBe(s);
  });

  it('returns a shared table as it is', () => {
    const s = shareTable(t);
    expect(shareTable(s)).toBe(s);
  });
});
