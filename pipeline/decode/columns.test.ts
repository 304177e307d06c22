import {
  type Data,
  Field,
  makeData,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Vector,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import {
  BoolBuilder,
  F64Builder,
  I64Builder,
  SymbolBuilder,
  TimestampBuilder,
  Utf8Builder,
} from './columns.ts';

function values(data: Data): unknown[] {
  return [...new Vector([data])];
}

function validity(data: Data): boolean[] {
  const out: boolean[] = [];
  for (let i = 0; i < data.length; i++) out.push(data.getValid(i));
  return out;
}

describe('F64Builder', () => {
  it('grows past its capacity and keeps what was written', () => {
    const b = new F64Builder(16);
    b.reserve(100);
    for (let i = 0; i < 100; i++) b.set(i, i / 2);
    expect(b.capacity).toBeGreaterThanOrEqual(100);
    const d = b.finish(100);
    expect(Array.from(d.values as Float64Array)).toEqual(Array.from({ length: 100 }, (_, i) => i / 2));
    expect(d.nullCount).toBe(0);
    expect(d.nullBitmap === undefined || d.nullBitmap.length === 0).toBe(true);
  });

  it('records nulls in a bitmap only when there are some', () => {
    const b = new F64Builder(32);
    for (let i = 0; i < 20; i++) {
      if (i % 3 === 0) b.setNull(i);
      else b.set(i, i);
    }
    const d = b.finish(20);
    expect(d.nullCount).toBe(7);
    expect(validity(d)).toEqual(Array.from({ length: 20 }, (_, i) => i % 3 !== 0));
    expect(values(d)).toEqual(Array.from({ length: 20 }, (_, i) => (i % 3 === 0 ? null : i)));
    b.set(0, 1);
    expect(b.finish(1).nullCount).toBe(0);
  });

  it('hands a full batch over zero-copy and copies a small one out of its arrays', () => {
    const b = new F64Builder(64);
    for (let i = 0; i < 64; i++) b.set(i, i);
    const full = b.finish(64);
    expect((full.values as Float64Array).buffer.byteLength).toBe(64 * 8);
    for (let i = 0; i < 3; i++) b.set(i, i + 100);
    const small = b.finish(3);
    expect((small.values as Float64Array).buffer.byteLength).toBe(3 * 8);
    expect(Array.from(full.values as Float64Array).slice(0, 3)).toEqual([0, 1, 2]);
    for (let i = 0; i < 64; i++) b.set(i, -i);
    expect(Array.from(small.values as Float64Array)).toEqual([100, 101, 102]);
  });

  it('overwrites a slot written by a row that was not committed', () => {
    const b = new F64Builder(16);
    b.setNull(0);
    b.set(0, 5);
    const d = b.finish(1);
    expect(d.nullCount).toBe(0);
    expect(values(d)).toEqual([5]);
  });
});

describe('TimestampBuilder and I64Builder', () => {
  it('write µs exactly through 32-bit words, negative values included', () => {
    const b = new TimestampBuilder(16);
    const xs = [0, 1_700_000_000_123_456, -1, -86_400_000_001, 2 ** 53 - 1, -(2 ** 53 - 1)];
    xs.forEach((x, i) => {
      b.set(i, x);
    });
    b.setNull(xs.length);
    const d = b.finish(xs.length + 1);
    expect(String(d.type)).toBe('Timestamp<MICROSECOND, UTC>');
    const raw = d.values as BigInt64Array;
    expect(Array.from(raw.subarray(0, xs.length), Number)).toEqual(xs);
    expect(d.nullCount).toBe(1);
  });

  it('store values beyond 2^53 with setBig', () => {
    const b = new I64Builder(16);
    b.set(0, 42);
    b.setBig(1, 9_007_199_254_740_993n);
    b.setBig(2, -(2n ** 63n));
    expect(values(b.finish(3))).toEqual([42n, 9_007_199_254_740_993n, -(2n ** 63n)]);
  });

  it('keep values when growing', () => {
    const b = new I64Builder(16);
    for (let i = 0; i < 16; i++) b.set(i, i * 1_000_000_007);
    b.reserve(17);
    b.set(16, -7);
    expect(values(b.finish(17))).toEqual([
      ...Array.from({ length: 16 }, (_, i) => BigInt(i * 1_000_000_007)),
      -7n,
    ]);
  });
});

describe('BoolBuilder', () => {
  it('packs bits and clears a slot rewritten as false', () => {
    const b = new BoolBuilder(16);
    b.set(0, true);
    b.set(0, false);
    b.set(1, true);
    b.setNull(2);
    b.set(3, true);
    expect(values(b.finish(4))).toEqual([false, true, null, true]);
  });

  it('grows past a capacity that is not a multiple of 8', () => {
    const b = new BoolBuilder(21);
    b.reserve(50);
    for (let i = 0; i < 50; i++) b.set(i, i % 2 === 0);
    expect(values(b.finish(50))).toEqual(Array.from({ length: 50 }, (_, i) => i % 2 === 0));
  });
});

describe('Utf8Builder', () => {
  it('writes ASCII, multi-byte and long strings, and nulls', () => {
    const b = new Utf8Builder(16, 2);
    const xs = ['a', '', 'héllo', '日本語', '🚀 to the moon', 'x'.repeat(1000), 'mixed ascii then ünïcode'];
    xs.forEach((x, i) => {
      b.set(i, x);
    });
    b.setNull(xs.length);
    b.reserve(40);
    for (let i = xs.length + 1; i < 40; i++) b.set(i, `s${i}`);
    const d = b.finish(40);
    const expected = [
      ...xs,
      null,
      ...Array.from({ length: 40 - xs.length - 1 }, (_, k) => `s${k + xs.length + 1}`),
    ];
    expect(values(d)).toEqual(expected);
  });
});

describe('SymbolBuilder', () => {
  it('keeps codes stable and the dictionary growing across batches', () => {
    const b = new SymbolBuilder(16);
    b.set(0, 'BTC-USD');
    b.set(1, 'ETH-USD');
    b.set(2, 'BTC-USD');
    const first = b.finish(3);
    b.set(0, 'ETH-USD');
    b.set(1, 'ÖL-€');
    b.setNull(2);
    const second = b.finish(3);
    expect(Array.from(first.values as Int32Array)).toEqual([0, 1, 0]);
    expect(Array.from(second.values as Int32Array).slice(0, 2)).toEqual([1, 2]);
    expect(values(first)).toEqual(['BTC-USD', 'ETH-USD', 'BTC-USD']);
    expect(values(second)).toEqual(['ETH-USD', 'ÖL-€', null]);
    expect(second.dictionary!.toArray()).toEqual(['BTC-USD', 'ETH-USD', 'ÖL-€']);
    expect(second.dictionary!.data[0]).toBe(first.dictionary!.data[0]);
    expect(first.type).toBe(second.type);
    expect(b.size).toBe(3);
  });

  it('reuses the dictionary vector while no symbol is added', () => {
    const b = new SymbolBuilder(16);
    b.set(0, 'A');
    const first = b.finish(1);
    b.set(0, 'A');
    const second = b.finish(1);
    expect(second.dictionary).toBe(first.dictionary);
  });

  it('gives an empty dictionary before any symbol', () => {
    const b = new SymbolBuilder(16);
    b.setNull(0);
    const d = b.finish(1);
    expect(d.dictionary!.length).toBe(0);
    expect(values(d)).toEqual([null]);
  });

  it('re-cuts many small chunks into one', () => {
    const b = new SymbolBuilder(16);
    for (let k = 0; k < 100; k++) {
      b.set(0, `S${k}`);
      const d = b.finish(1);
      expect(d.dictionary!.data.length).toBeLessThanOrEqual(64);
      expect(d.dictionary!.get(k)).toBe(`S${k}`);
      expect(values(d)).toEqual([`S${k}`]);
    }
  });

  it('lets an IPC stream writer send only dictionary deltas', async () => {
    const b = new SymbolBuilder(16);
    const field = new Field('sym', b.type, true);
    const schema = new Schema([field]);
    const batch = (data: Data) =>
      new RecordBatch(
        schema,
        makeData({ type: new Struct([field]), length: data.length, children: [data], nullCount: 0 }),
      );
    const batches: RecordBatch[] = [];
    for (const group of [['A', 'B'], ['B', 'C'], ['C'], ['D', 'A']]) {
      group.forEach((s, i) => {
        b.set(i, s);
      });
      batches.push(batch(b.finish(group.length)));
    }
    const writer = new RecordBatchStreamWriter();
    for (const rb of batches) writer.write(rb);
    writer.finish();
    const bytes = await writer.toUint8Array();
    const read: string[][] = [];
    const reader = RecordBatchReader.from(bytes);
    for (const rb of reader) read.push(rb.getChild('sym')!.toArray() as unknown as string[]);
    expect(read).toEqual([['A', 'B'], ['B', 'C'], ['C'], ['D', 'A']]);
  });
});
