import { spawnSync } from 'node:child_process';
import { type Dictionary, type RecordBatch, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { type DecodeConfig, type SchemaDecl, zDecode } from '../../config/common.ts';
import { createJsonDecoder, DecodeConfigError, type JsonDecoder } from './json.ts';

const TRADES: SchemaDecl = { ts: 'timestamp', symbol: 'symbol', price: 'f64', size: 'f64' };

function config(decode: Record<string, unknown> = {}): DecodeConfig {
  return zDecode.parse(decode);
}

interface Rejection {
  reason: string;
  payload: string;
}

/** A decoder plus the rejections it reported. */
function setup(schema: SchemaDecl = TRADES, decode: Record<string, unknown> = {}, capacity = 16) {
  const rejects: Rejection[] = [];
  const decoder = createJsonDecoder(schema, config(decode), { capacity });
  const feed = (payload: string | Uint8Array) =>
    decoder.decode(payload, (reason, text) => rejects.push({ reason, payload: text }));
  return { decoder, rejects, feed };
}

/** Column values as plain JS: timestamps as µs numbers, i64 as bigint, nulls as null. */
function column(batch: RecordBatch | Table, name: string): unknown[] {
  const v = batch.getChild(name)!;
  const out: unknown[] = [];
  const isTimestamp = String(v.type).startsWith('Timestamp');
  let row = 0;
  for (const d of v.data) {
    for (let i = 0; i < d.length; i++, row++) {
      if (!d.getValid(i)) out.push(null);
      else if (isTimestamp) out.push(Number((d.values as BigInt64Array)[i]));
      else out.push(v.get(row));
    }
  }
  return out;
}

const T0 = 1_700_000_000_123;

describe('JSON decoder: message shapes', () => {
  it('decodes one object as one row', () => {
    const { decoder, feed, rejects } = setup();
    expect(feed(`{"ts":${T0},"symbol":"BTC-USD","price":42123.5,"size":0.25}`)).toBe(1);
    expect(decoder.pendingRows).toBe(1);
    const b = decoder.flush();
    expect(rejects).toEqual([]);
    expect(b.numRows).toBe(1);
    expect(column(b, 'ts')).toEqual([T0 * 1000]);
    expect(column(b, 'symbol')).toEqual(['BTC-USD']);
    expect(column(b, 'price')).toEqual([42123.5]);
    expect(column(b, 'size')).toEqual([0.25]);
    expect(decoder.pendingRows).toBe(0);
  });

  it('decodes an array of objects as many rows', () => {
    const { decoder, feed } = setup();
    const rows = Array.from({ length: 50 }, (_, i) => ({
      ts: T0 + i,
      symbol: `S${i % 3}`,
      price: i,
      size: 1,
    }));
    expect(feed(JSON.stringify(rows))).toBe(50);
    const b = decoder.flush();
    expect(column(b, 'price')).toEqual(rows.map((r) => r.price));
    expect(column(b, 'symbol')).toEqual(rows.map((r) => r.symbol));
  });

  it('reads rows at the rows path, an array or a single object', () => {
    const { decoder, feed, rejects } = setup(TRADES, { rows: 'data' });
    expect(
      feed(
        `{"stream":"t","data":[{"ts":1,"symbol":"A","price":1,"size":1},{"ts":2,"symbol":"B","price":2}]}`,
      ),
    ).toBe(2);
    expect(feed(`{"stream":"t","data":{"ts":3,"symbol":"C","price":3,"size":3}}`)).toBe(1);
    expect(feed(`{"stream":"t","data":5}`)).toBe(0);
    expect(feed(`{"stream":"t"}`)).toBe(0);
    expect(rejects.map((r) => r.reason)).toEqual([
      'rows path "data" holds a JSON number, expected an array of objects or an object',
      'rows path "data" holds nothing, expected an array of objects or an object',
    ]);
    const b = decoder.flush();
    expect(column(b, 'symbol')).toEqual(['A', 'B', 'C']);
    expect(column(b, 'size')).toEqual([1, null, 3]);
  });

  it('follows nested paths, array indexes included, precompiled per column', () => {
    const { decoder, feed } = setup(
      { ts: 'timestamp', symbol: 'symbol', bid: 'f64', bid_size: 'f64', venue: 'utf8' },
      {
        timestamp: { field: 'data.T', unit: 'ms' },
        fields: { symbol: 'data.s', bid: 'bids.0.0', bid_size: 'bids.0.1', venue: 'meta.venue.name' },
      },
    );
    expect(
      feed(
        `{"data":{"T":${T0},"s":"ETHUSDT"},"bids":[["2500.5","3.2"],["2500.4","1"]],"meta":{"venue":{"name":"X"}}}`,
      ),
    ).toBe(1);
    expect(feed(`{"data":{"T":${T0},"s":"ETHUSDT"},"bids":[],"meta":{"venue":"flat"}}`)).toBe(1);
    const b = decoder.flush();
    expect(column(b, 'ts')).toEqual([T0 * 1000, T0 * 1000]);
    expect(column(b, 'bid')).toEqual([2500.5, null]);
    expect(column(b, 'bid_size')).toEqual([3.2, null]);
    expect(column(b, 'venue')).toEqual(['X', null]);
  });

  it('keeps an empty array as no rows and no rejection', () => {
    const { decoder, feed, rejects } = setup();
    expect(feed('[]')).toBe(0);
    expect(rejects).toEqual([]);
    expect(decoder.flush().numRows).toBe(0);
  });

  it('decodes a 100k-row array message, growing past the pre-sized capacity', () => {
    const { decoder, feed, rejects } = setup(TRADES, {}, 1000);
    const n = 100_000;
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(`{"ts":${T0 + i},"symbol":"S${i % 7}","price":${i},"size":0.5}`);
    expect(feed(`[${parts.join(',')}]`)).toBe(n);
    expect(rejects).toEqual([]);
    const b = decoder.flush();
    expect(b.numRows).toBe(n);
    const ts = b.getChild('ts')!.data[0].values as BigInt64Array;
    expect(Number(ts[0])).toBe(T0 * 1000);
    expect(Number(ts[n - 1])).toBe((T0 + n - 1) * 1000);
    expect((b.getChild('price')!.data[0].values as Float64Array).reduce((a, x) => a + x, 0)).toBe(
      (n * (n - 1)) / 2,
    );
    expect(b.getChild('symbol')!.data[0].dictionary!.length).toBe(7);
    expect(feed(`{"ts":1,"symbol":"S1","price":1,"size":1}`)).toBe(1);
    expect(decoder.flush().numRows).toBe(1);
  });

  it('takes UTF-8 bytes and counts payload bytes of messages that brought rows', () => {
    const { decoder, feed } = setup();
    const text = `{"ts":${T0},"symbol":"ÄÖÜ","price":1,"size":1}`;
    const bytes = new TextEncoder().encode(text);
    expect(feed(bytes)).toBe(1);
    expect(decoder.pendingBytes).toBe(bytes.byteLength);
    feed('not json');
    expect(decoder.pendingBytes).toBe(bytes.byteLength);
    feed(text);
    expect(decoder.pendingBytes).toBe(bytes.byteLength + text.length);
    const b = decoder.flush();
    expect(decoder.pendingBytes).toBe(0);
    expect(column(b, 'symbol')).toEqual(['ÄÖÜ', 'ÄÖÜ']);
  });
});

describe('JSON decoder: timestamps', () => {
  const US = 1_700_000_000_123_456;

  it.each([
    ['s', 1_700_000_000.123456],
    ['ms', 1_700_000_000_123.456],
    ['us', US],
    ['ns', US * 1000 + 789],
  ] as const)('reads epoch %s numbers', (unit, value) => {
    const { decoder, feed } = setup(TRADES, { timestamp: { field: 't', unit } });
    expect(feed(JSON.stringify({ t: value, symbol: 'A', price: 1, size: 1 }))).toBe(1);
    const got = column(decoder.flush(), 'ts')[0] as number;
    // An ns number above 2^53 reached us as the nearest double, so it may be one µs off.
    expect(Math.abs(got - US)).toBeLessThanOrEqual(unit === 'ns' ? 1 : 0);
  });

  it.each([
    ['s', '1700000000.123456', US],
    ['ms', '1700000000123.456', US],
    ['ms', '1700000000123', 1_700_000_000_123_000],
    ['us', '1700000000123456', US],
    ['ns', '1700000000123456789', US],
    ['ns', '-1500', -2],
    ['ns', '999', 0],
  ] as const)('reads epoch %s as a numeric string %s, exactly', (unit, text, us) => {
    const { decoder, feed } = setup(TRADES, { timestamp: { field: 't', unit } });
    expect(feed(JSON.stringify({ t: text, symbol: 'A', price: 1, size: 1 }))).toBe(1);
    expect(column(decoder.flush(), 'ts')).toEqual([us]);
  });

  it('reads ISO-8601 strings with unit iso, and with a numeric unit too', () => {
    for (const unit of ['iso', 'ms'] as const) {
      const { decoder, feed } = setup(TRADES, { timestamp: { field: 't', unit } });
      feed('{"t":"2023-11-14T22:13:20.123456789Z","symbol":"A","price":1}');
      feed('{"t":"2023-11-14T23:13:20.5+01:00","symbol":"A","price":1}');
      expect(column(decoder.flush(), 'ts')).toEqual([1_700_000_000_123_456, 1_700_000_000_500_000]);
    }
  });

  it('rejects a number when the unit is iso, and a malformed ISO string, naming the column', () => {
    const { decoder, feed, rejects } = setup(TRADES, { timestamp: { field: 't', unit: 'iso' } });
    expect(feed('{"t":1700000000,"symbol":"A"}')).toBe(0);
    expect(feed('{"t":"2023-11-14T22:13:20","symbol":"A"}')).toBe(0);
    expect(feed('{"t":"yesterday","symbol":"A"}')).toBe(0);
    expect(rejects.map((r) => r.reason)).toEqual([
      'column "ts": expected timestamp (an ISO-8601 string such as 2024-01-02T03:04:05.123Z), got number',
      'column "ts": expected timestamp (an ISO-8601 string such as 2024-01-02T03:04:05.123Z), got a string that is neither a number nor an ISO-8601 timestamp with a zone, or is out of range',
      'column "ts": expected timestamp (an ISO-8601 string such as 2024-01-02T03:04:05.123Z), got a string that is neither a number nor an ISO-8601 timestamp with a zone, or is out of range',
    ]);
    expect(decoder.pendingRows).toBe(0);
  });

  it('rejects a row without its event time, or with a null, an object or an out-of-range one', () => {
    const { decoder, feed, rejects } = setup();
    expect(feed('{"symbol":"A","price":1}')).toBe(0);
    expect(feed('{"ts":null,"symbol":"A","price":1}')).toBe(0);
    expect(feed('{"ts":{"ms":1},"symbol":"A","price":1}')).toBe(0);
    expect(feed('{"ts":1e300,"symbol":"A","price":1}')).toBe(0);
    expect(rejects.map((r) => r.reason)).toEqual([
      'column "ts": missing (required event time)',
      'column "ts": missing (required event time)',
      'column "ts": expected timestamp (epoch ms as a number or numeric string, or an ISO-8601 string), got object',
      'column "ts": expected timestamp (epoch ms as a number or numeric string, or an ISO-8601 string), got a number out of range',
    ]);
    expect(decoder.pendingRows).toBe(0);
  });

  it('reads a second timestamp column with its own unit, null when missing', () => {
    const { decoder, feed } = setup(
      { ts: 'timestamp', recv: 'timestamp', price: 'f64' },
      { timestamp: { field: 'E', unit: 'ms' }, fields: { recv: { path: 'r', unit: 'ns' } } },
    );
    feed('{"E":1000,"r":"2000000","price":1}');
    feed('{"E":1001,"price":1}');
    const b = decoder.flush();
    expect(column(b, 'ts')).toEqual([1_000_000, 1_001_000]);
    expect(column(b, 'recv')).toEqual([2000, null]);
    expect(b.schema.fields.map((f) => f.nullable)).toEqual([false, true, true]);
  });

  it('takes the event-time unit from fields when given as {path, unit}', () => {
    const { decoder, feed } = setup(TRADES, { fields: { ts: { path: 'time', unit: 's' } } });
    feed('{"time":1700000000,"symbol":"A","price":1}');
    expect(column(decoder.flush(), 'ts')).toEqual([1_700_000_000_000_000]);
  });
});

describe('JSON decoder: values', () => {
  const ALL: SchemaDecl = { ts: 'timestamp', sym: 'symbol', f: 'f64', n: 'i64', b: 'bool', s: 'utf8' };

  it('accepts numbers given as strings for f64 and i64, exactly beyond 2^53 for i64', () => {
    const { decoder, feed, rejects } = setup(ALL);
    feed('{"ts":1,"sym":"A","f":"42123.5","n":"9007199254740993"}');
    feed('{"ts":2,"sym":"A","f":"-1e-3","n":"-42"}');
    feed('{"ts":3,"sym":"A","f":7,"n":9007199254740992}');
    expect(rejects).toEqual([]);
    const b = decoder.flush();
    expect(column(b, 'f')).toEqual([42123.5, -0.001, 7]);
    expect(column(b, 'n')).toEqual([9_007_199_254_740_993n, -42n, 9_007_199_254_740_992n]);
  });

  it.each([
    ['f', '"abc"', 'f64 (a number or numeric string), got a non-numeric string'],
    ['f', '""', 'f64 (a number or numeric string), got a non-numeric string'],
    ['f', '" 12"', 'f64 (a number or numeric string), got a non-numeric string'],
    ['f', '"0x10"', 'f64 (a number or numeric string), got a non-numeric string'],
    ['f', '"Infinity"', 'f64 (a number or numeric string), got a non-numeric string'],
    ['f', '"1e999"', 'f64 (a number or numeric string), got a non-numeric string'],
    ['f', 'true', 'f64 (a number or numeric string), got boolean'],
    ['f', '[1]', 'f64 (a number or numeric string), got array'],
    ['n', '1.5', 'i64 (an integer or integer string within ±2^63), got a fractional number'],
    ['n', '"1.5"', 'i64 (an integer or integer string within ±2^63), got a string out of range'],
    [
      'n',
      '"9223372036854775808"',
      'i64 (an integer or integer string within ±2^63), got a string out of range',
    ],
    ['n', '1e20', 'i64 (an integer or integer string within ±2^63), got an integer out of range'],
    ['b', '"yes"', 'bool (true, false, 0, 1, "true" or "false"), got a string other than "true" or "false"'],
    ['b', '2', 'bool (true, false, 0, 1, "true" or "false"), got a number other than 0 or 1'],
    ['s', '{"secret":"hunter2"}', 'utf8 (a string, number or boolean), got object'],
    ['sym', '["x"]', 'symbol (a string or number), got array'],
    ['sym', 'false', 'symbol (a string or number), got boolean'],
  ])('rejects %s = %s with the column, expected type and JSON type', (col, json, why) => {
    const { decoder, feed, rejects } = setup(ALL);
    const text = `{"ts":1,"sym":"A",${JSON.stringify(col).slice(0, -1)}":${json}}`.replace(
      '"sym":"A","sym"',
      '"sym"',
    );
    expect(feed(text)).toBe(0);
    expect(rejects).toEqual([{ reason: `column "${col}": expected ${why}`, payload: text }]);
    expect(rejects[0].reason).not.toContain('hunter2');
    expect(decoder.pendingRows).toBe(0);
  });

  it('converts bool forms, and numbers and booleans for utf8 and symbol', () => {
    const { decoder, feed } = setup(ALL);
    feed('{"ts":1,"sym":42,"b":true,"s":"héllo"}');
    feed('{"ts":2,"sym":"A","b":0,"s":3.5}');
    feed('{"ts":3,"sym":"A","b":"true","s":false}');
    feed('{"ts":4,"sym":"A","b":"false"}');
    const b = decoder.flush();
    expect(column(b, 'sym')).toEqual(['42', 'A', 'A', 'A']);
    expect(column(b, 'b')).toEqual([true, false, true, false]);
    expect(column(b, 's')).toEqual(['héllo', '3.5', 'false', null]);
  });

  it('writes nulls for missing and null values, with null bitmaps and counts', () => {
    const { decoder, feed } = setup(ALL);
    feed('{"ts":1}');
    feed('{"ts":2,"sym":"A","f":1.5,"n":3,"b":true,"s":"x"}');
    feed('{"ts":3,"sym":null,"f":null,"n":null,"b":null,"s":null}');
    const b = decoder.flush();
    for (const name of ['sym', 'f', 'n', 'b', 's']) {
      expect(b.getChild(name)!.nullCount).toBe(2);
      expect(column(b, name)[0]).toBeNull();
      expect(column(b, name)[1]).not.toBeNull();
      expect(column(b, name)[2]).toBeNull();
    }
    feed('{"ts":4,"sym":"A","f":1.5,"n":3,"b":true,"s":"x"}');
    const next = decoder.flush();
    for (const name of ['sym', 'f', 'n', 'b', 's']) expect(next.getChild(name)!.nullCount).toBe(0);
  });

  it('leaves no trace of a rejected row: no symbol, no bytes, no shifted offsets', () => {
    const { decoder, feed } = setup({ ts: 'timestamp', sym: 'symbol', s: 'utf8', f: 'f64' });
    feed('{"ts":1,"sym":"A","s":"first","f":1}');
    feed('{"ts":2,"sym":"GHOST","s":"a long string that must not stay","f":"bad"}');
    feed('{"ts":3,"sym":"B","s":"third","f":null}');
    const b = decoder.flush();
    expect(column(b, 's')).toEqual(['first', 'third']);
    expect(column(b, 'f')).toEqual([1, null]);
    expect(b.getChild('sym')!.data[0].dictionary!.toArray()).toEqual(['A', 'B']);
  });

  it('rejects single rows of an array and keeps the others', () => {
    const { decoder, feed, rejects } = setup();
    expect(
      feed('[{"ts":1,"symbol":"A","price":1},{"ts":2,"price":"x"},7,null,{"ts":3,"symbol":"A","price":3}]'),
    ).toBe(2);
    expect(rejects).toEqual([
      {
        reason: 'row 1: column "price": expected f64 (a number or numeric string), got a non-numeric string',
        payload: '{"ts":2,"price":"x"}',
      },
      { reason: 'row 2: expected an object, got number', payload: '7' },
      { reason: 'row 3: expected an object, got null', payload: 'null' },
    ]);
    expect(column(decoder.flush(), 'price')).toEqual([1, 3]);
  });
});

describe('JSON decoder: bad messages', () => {
  it.each([
    ['an empty message', '', 'empty message'],
    ['blanks', '   ', 'not valid JSON'],
    ['truncated JSON', '{"ts":1,', 'not valid JSON'],
    ['text', 'hello', 'not valid JSON'],
    ['a number', '42', 'message is a JSON number, expected an object or an array of objects'],
    ['a string', '"x"', 'message is a JSON string, expected an object or an array of objects'],
    ['null', 'null', 'message is a JSON null, expected an object or an array of objects'],
    ['a boolean', 'true', 'message is a JSON boolean, expected an object or an array of objects'],
  ])('rejects %s without throwing', (_what, text, reason) => {
    const { decoder, feed, rejects } = setup();
    expect(feed(text)).toBe(0);
    expect(rejects).toHaveLength(1);
    expect(rejects[0].reason.startsWith(reason)).toBe(true);
    expect(rejects[0].payload).toBe(text);
    expect(decoder.pendingRows).toBe(0);
  });

  it('does not quote the payload in a not-JSON reason', () => {
    const { feed, rejects } = setup();
    feed('{"secret": hunter2}');
    expect(rejects[0].reason).not.toContain('hunter2');
  });
});

describe('JSON decoder: filter', () => {
  it('skips messages whose fields differ, counting them', () => {
    const { decoder, feed, rejects } = setup(TRADES, {
      filter: { type: 'trade', 'meta.live': true },
      fields: { symbol: 's', price: 'p', size: 'q' },
    });
    expect(feed('{"type":"trade","meta":{"live":true},"ts":1,"s":"A","p":1,"q":1}')).toBe(1);
    expect(feed('{"type":"quote","meta":{"live":true},"ts":2,"s":"A","bid":1}')).toBe(0);
    expect(feed('{"type":"trade","meta":{"live":false},"ts":3,"s":"A","p":1}')).toBe(0);
    expect(feed('{"type":"trade","ts":4,"s":"A","p":1}')).toBe(0);
    expect(decoder.skipped).toBe(3);
    expect(rejects).toEqual([]);
    expect(decoder.flush().numRows).toBe(1);
  });

  it('filters the rows of a bare array one by one, and numbers by value', () => {
    const { decoder, feed } = setup(TRADES, { filter: { ch: 1 } });
    expect(
      feed('[{"ch":1,"ts":1,"symbol":"A","price":1},{"ch":"1","ts":2},{"ch":2,"ts":3},{"ch":1,"ts":4}]'),
    ).toBe(2);
    expect(decoder.skipped).toBe(2);
    expect(column(decoder.flush(), 'ts')).toEqual([1000, 4000]);
  });

  it('filters the envelope when rows sit at a path', () => {
    const { decoder, feed } = setup(TRADES, { rows: 'data', filter: { channel: 'trades' } });
    expect(feed('{"channel":"trades","data":[{"ts":1,"symbol":"A"},{"ts":2,"symbol":"B"}]}')).toBe(2);
    expect(feed('{"channel":"book","data":[{"ts":3,"symbol":"A"}]}')).toBe(0);
    expect(decoder.skipped).toBe(1);
  });
});

describe('JSON decoder: dictionary across batches', () => {
  it('keeps codes stable and carries the whole dictionary in every batch', () => {
    const { decoder, feed } = setup();
    feed('[{"ts":1,"symbol":"BTC-USD"},{"ts":2,"symbol":"ETH-USD"}]');
    const first = decoder.flush();
    feed('[{"ts":3,"symbol":"ETH-USD"},{"ts":4,"symbol":"日経225"},{"ts":5,"symbol":"🚀"}]');
    const second = decoder.flush();
    feed('{"ts":6,"symbol":"BTC-USD"}');
    const third = decoder.flush();
    const codes = (b: RecordBatch) => Array.from(b.getChild('symbol')!.data[0].values as Int32Array);
    expect(codes(first)).toEqual([0, 1]);
    expect(codes(second)).toEqual([1, 2, 3]);
    expect(codes(third)).toEqual([0]);
    expect(third.getChild('symbol')!.data[0].dictionary!.toArray()).toEqual([
      'BTC-USD',
      'ETH-USD',
      '日経225',
      '🚀',
    ]);
    expect(column(second, 'symbol')).toEqual(['ETH-USD', '日経225', '🚀']);
    const id = (b: RecordBatch) => (b.schema.fields[1].type as Dictionary).id;
    expect(id(first)).toBe(id(second));
    expect(id(third)).toBe((decoder.schema.fields[1].type as Dictionary).id);
  });
});

describe('JSON decoder: Arrow IPC round trip', () => {
  it('survives tableToIPC / tableFromIPC over several batches with dictionary growth and nulls', () => {
    const schema: SchemaDecl = {
      ts: 'timestamp',
      sym: 'symbol',
      px: 'f64',
      n: 'i64',
      ok: 'bool',
      note: 'utf8',
    };
    const { decoder, feed } = setup(schema);
    const batches: RecordBatch[] = [];
    const expected: Record<string, unknown>[] = [];
    for (let k = 0; k < 4; k++) {
      for (let i = 0; i < 5; i++) {
        const r = k * 5 + i;
        const row: Record<string, unknown> = {
          ts: T0 + r,
          sym: `S${r % (k + 2)}`,
          px: r / 4,
          n: r * 1_000_000_007,
        };
        if (r % 3 !== 0) row.ok = r % 2 === 0;
        if (r % 4 !== 1) row.note = `é${r}`;
        feed(JSON.stringify(row));
        expected.push({
          ts: (T0 + r) * 1000,
          sym: row.sym,
          px: row.px,
          n: BigInt(r * 1_000_000_007),
          ok: row.ok ?? null,
          note: row.note ?? null,
        });
      }
      batches.push(decoder.flush());
    }
    for (const format of ['stream', 'file'] as const) {
      const back = tableFromIPC(tableToIPC(new Table(batches), format));
      expect(back.numRows).toBe(20);
      for (const name of Object.keys(schema))
        expect(column(back, name)).toEqual(expected.map((e) => e[name]));
      expect(String(back.schema.fields[0].type)).toBe('Timestamp<MICROSECOND, UTC>');
    }
  });
});

describe('JSON decoder: config errors', () => {
  it.each([
    [
      { fields: { nope: 'x' } },
      'decode.fields.nope: no column "nope" in the schema (columns: ts, symbol, price, size)',
    ],
    [
      { fields: { price: { path: 'p', unit: 'ms' } } },
      'decode.fields.price.unit: column "price" is f64, not a timestamp',
    ],
  ])('throws DecodeConfigError for %j', (decode, message) => {
    expect(() => createJsonDecoder(TRADES, config(decode))).toThrow(new DecodeConfigError(message));
  });

  it('needs a timestamp column when decode.timestamp is set', () => {
    let error: unknown;
    try {
      createJsonDecoder({ price: 'f64' }, config({ timestamp: { field: 't' } }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DecodeConfigError);
    expect((error as DecodeConfigError).code).toBe('DECODE_CONFIG');
    expect((error as DecodeConfigError).retriable).toBe(false);
  });

  it('never reads a missing field from Object.prototype', () => {
    const { decoder, feed, rejects } = setup(
      Object.fromEntries([
        ['ts', 'timestamp'],
        ['constructor', 'utf8'],
        ['toString', 'f64'],
        ['proto', 'utf8'],
        ['nested', 'utf8'],
      ]) as SchemaDecl,
      { fields: { proto: '__proto__', nested: 'meta.hasOwnProperty' }, filter: { 'a.valueOf': 1 } },
    );
    expect(feed('{"ts":1,"a":{"valueOf":1},"meta":{}}')).toBe(1);
    expect(feed('{"ts":2,"a":{}}')).toBe(0);
    expect(
      feed(
        '{"ts":3,"a":{"valueOf":1},"constructor":"c","toString":2,"__proto__":"p","meta":{"hasOwnProperty":"h"}}',
      ),
    ).toBe(1);
    expect(rejects).toEqual([]);
    expect(decoder.skipped).toBe(1);
    const b = decoder.flush();
    expect(column(b, 'constructor')).toEqual([null, 'c']);
    expect(column(b, 'toString')).toEqual([null, 2]);
    expect(column(b, 'proto')).toEqual([null, 'p']);
    expect(column(b, 'nested')).toEqual([null, 'h']);
  });

  it('embeds odd field names safely in the compiled row writer', () => {
    const odd = `a"b'c\\d\u2028e\`f\${g}`;
    const decoder: JsonDecoder = createJsonDecoder(
      { ts: 'timestamp', v: 'f64' },
      config({ fields: { v: odd } }),
    );
    expect(decoder.decode(JSON.stringify({ ts: 1, [odd]: 2 }), () => {})).toBe(1);
    expect(column(decoder.flush(), 'v')).toEqual([2]);
  });
});

describe('JSON decoder without code generation', () => {
  it('falls back to the interpreted row writer where new Function is forbidden', () => {
    const script = [
      `import { createJsonDecoder } from ${JSON.stringify(new URL('./json.ts', import.meta.url).href)};`,
      "const d = createJsonDecoder({ ts: 'timestamp', symbol: 'symbol', p: 'f64' }, { format: 'json', fields: {} });",
      'const reasons = [];',
      'const n = d.decode(\'[{"ts":1,"symbol":"A","p":"2.5"},{"ts":2,"p":"x"}]\', (r) => reasons.push(r));',
      'const b = d.flush();',
      "console.log(JSON.stringify({ n, reasons, p: b.getChild('p').get(0), symbol: b.getChild('symbol').get(0) }));",
    ].join('\n');
    const run = spawnSync(
      process.execPath,
      ['--disallow-code-generation-from-strings', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8', cwd: new URL('../..', import.meta.url).pathname },
    );
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      n: 1,
      reasons: ['row 1: column "p": expected f64 (a number or numeric string), got a non-numeric string'],
      p: 2.5,
      symbol: 'A',
    });
  });
});
