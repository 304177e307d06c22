import { describe, expect, it } from 'vitest';
import {
  dictionaryVector,
  float64Column,
  float64Vector,
  keyCodes,
  recordBatchFromVectors,
  tableFromVectors,
  timestampsUs,
  timestampVector,
} from './arrow.ts';

describe('arrow glue', () => {
  const ts = new Float64Array([1_700_000_000_000_000, 1_700_000_000_000_001, 1_700_000_000_500_000]);
  const sym = dictionaryVector(new Int32Array([0, 1, 0]), ['BTC-USD', 'ETH-USD']);
  const price = float64Vector(new Float64Array([1, Number.NaN, 3]), new Uint8Array([1, 0, 1]));

  it('round-trips timestamps, keys and floats through a table', () => {
    const t = tableFromVectors({ ts: timestampVector(ts), symbol: sym, price });
    expect(Array.from(timestampsUs(t, 'ts'))).toEqual(Array.from(ts));
    expect(keyCodes(t, 'symbol')).toEqual({
      codes: new Int32Array([0, 1, 0]),
      dictionary: ['BTC-USD', 'ETH-USD'],
    });
    const p = float64Column(t, 'price');
    expect(p[0]).toBe(1);
    expect(Number.isNaN(p[1])).toBe(true);
    expect(t.getChild('price')!.get(1)).toBeNull();
  });

  it('builds a record batch and names a missing column', () => {
    const rb = recordBatchFromVectors({ ts: timestampVector(ts), symbol: sym });
    expect(rb.numRows).toBe(3);
    expect(String(rb.schema.fields[0].type)).toContain('Timestamp');
    expect(() => timestampsUs(rb, 'nope')).toThrow(/column "nope" not found; columns are: ts, symbol/);
  });

  it('reads null timestamps as NaN without touching the Arrow buffer', () => {
    const t = tableFromVectors({ ts: timestampVector(ts, new Uint8Array([1, 0, 1])) });
    const us = timestampsUs(t, 'ts');
    expect(us[0]).toBe(ts[0]);
    expect(Number.isNaN(us[1])).toBe(true);
    expect(us[2]).toBe(ts[2]);
    const f = tableFromVectors({ ts: float64Vector(new Float64Array([1, 2]), new Uint8Array([0, 1])) });
    expect(Number.isNaN(timestampsUs(f, 'ts')[0])).toBe(true);
    expect(f.getChild('ts')!.data[0].values[0]).toBe(1);
  });
});
