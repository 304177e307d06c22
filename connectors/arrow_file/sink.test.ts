import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { RecordBatchReader, tableFromIPC } from 'apache-arrow';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AckSet } from '../../pipeline/acks.ts';
import type { Batch } from '../../pipeline/types.ts';
import {
  dictionaryVector,
  float64Vector,
  recordBatchFromVectors,
  timestampVector,
} from '../../timeseries/arrow.ts';
import { ArrowFileError, ArrowFileSink, arrowFileConfig } from './sink.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const python = join(root, '.infra/venv/bin/python');

/** A batch as the decoder makes it: a fresh dictionary vector holding the whole dictionary so far. */
function tradeBatch(stream: string, dictionary: string[], rows: [number, number, number][]): Batch {
  const data = recordBatchFromVectors({
    ts: timestampVector(Float64Array.from(rows.map((r) => r[0]))),
    symbol: dictionaryVector(Int32Array.from(rows.map((r) => r[1])), dictionary),
    price: float64Vector(Float64Array.from(rows.map((r) => r[2]))),
  });
  return { stream, data, acks: AckSet.empty() };
}

const T0 = Date.UTC(2024, 0, 2, 9, 30) * 1000;

/** Three batches; the dictionary grows from one symbol to three. */
function growingBatches(): Batch[] {
  return [
    tradeBatch(
      'trades',
      ['BTC-USD'],
      [
        [T0, 0, 100.5],
        [T0 + 1, 0, 101],
      ],
    ),
    tradeBatch(
      'trades',
      ['BTC-USD', 'ETH-USD'],
      [
        [T0 + 2, 1, 50.25],
        [T0 + 3, 0, 102],
      ],
    ),
    tradeBatch(
      'trades',
      ['BTC-USD', 'ETH-USD', 'SOL-USD'],
      [
        [T0 + 4, 2, 7.5],
        [T0 + 5, 1, 51],
        [T0 + 6, 0, 103],
      ],
    ),
  ];
}

const EXPECTED_SYMBOLS = ['BTC-USD', 'BTC-USD', 'ETH-USD', 'BTC-USD', 'SOL-USD', 'ETH-USD', 'BTC-USD'];
const EXPECTED_PRICES = [100.5, 101, 50.25, 102, 7.5, 51, 103];

describe('arrow_file sink', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'polaroid-arrow-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function sink(fields: Record<string, unknown>): ArrowFileSink {
    return new ArrowFileSink(arrowFileConfig.parse(fields), dir);
  }

  it('writes a stream with a growing dictionary that arrow-js reads back', async () => {
    const s = sink({ path: 'out/{stream}.arrows' });
    expect(s.durable).toBe(true);
    for (const b of growingBatches()) await s.write(b);
    await s.close();

    const bytes = await readFile(join(dir, 'out/trades.arrows'));
    const table = tableFromIPC(bytes);
    expect(table.numRows).toBe(7);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['ts', 'symbol', 'price']);
    expect([...table.getChild('symbol')!].map(String)).toEqual(EXPECTED_SYMBOLS);
    expect([...table.getChild('price')!]).toEqual(EXPECTED_PRICES);

    const reader = RecordBatchReader.from(bytes);
    const sizes = [...reader].map((b) => b.numRows);
    expect(sizes).toEqual([2, 2, 3]);
  });

  it('is readable after each write, before close (each write is flushed)', async () => {
    const s = sink({ path: 'live.arrows' });
    const [first, second] = growingBatches();
    await s.write(first);
    await s.write(second);
    const partial = tableFromIPC(await readFile(join(dir, 'live.arrows')));
    expect(partial.numRows).toBe(4);
    expect([...partial.getChild('symbol')!].map(String)).toEqual(EXPECTED_SYMBOLS.slice(0, 4));
    await s.close();
  });

  it('remaps indices when a dictionary is not an extension of the one written', async () => {
    const s = sink({ path: 'remap.arrows' });
    await s.write(tradeBatch('trades', ['ETH-USD', 'BTC-USD'], [[T0, 1, 1]]));
    await s.write(
      tradeBatch(
        'trades',
        ['BTC-USD', 'SOL-USD'],
        [
          [T0 + 1, 0, 2],
          [T0 + 2, 1, 3],
        ],
      ),
    );
    await s.close();
    const table = tableFromIPC(await readFile(join(dir, 'remap.arrows')));
    expect([...table.getChild('symbol')!].map(String)).toEqual(['BTC-USD', 'BTC-USD', 'SOL-USD']);
  });

  it('renames an existing file aside by default, and overwrites when asked', async () => {
    await writeFile(join(dir, 'keep.arrows'), 'older');
    const s = sink({ path: 'keep.arrows' });
    await s.write(growingBatches()[0]);
    await s.close();
    expect(await readFile(join(dir, 'keep.arrows.1'), 'utf8')).toBe('older');
    expect(tableFromIPC(await readFile(join(dir, 'keep.arrows'))).numRows).toBe(2);

    const o = sink({ path: 'keep.arrows', if_exists: 'overwrite' });
    await o.write(growingBatches()[2]);
    await o.close();
    expect(tableFromIPC(await readFile(join(dir, 'keep.arrows'))).numRows).toBe(3);
    expect(existsSync(join(dir, 'keep.arrows.2'))).toBe(false);
  });

  it('rejects a second schema in one file, and writes after close', async () => {
    const s = sink({ path: 'one.arrows' });
    await s.write(growingBatches()[0]);
    const other = recordBatchFromVectors({ bid: float64Vector(Float64Array.of(1)) });
    const err = await s.write({ stream: 'quotes', data: other, acks: AckSet.empty() }).catch((e) => e);
    expect(err).toBeInstanceOf(ArrowFileError);
    expect(err.code).toBe('ARROW_FILE_SCHEMA_MISMATCH');
    expect(err.retriable).toBe(false);
    await s.close();
    const closed = await s.write(growingBatches()[1]).catch((e) => e);
    expect(closed.code).toBe('ARROW_FILE_CLOSED');
  });

  it('reports a failed write as retriable and starts over at the next one', async () => {
    const s = new ArrowFileSink(arrowFileConfig.parse({ path: '/dev/full', if_exists: 'overwrite' }), dir);
    const first = await s.write(growingBatches()[0]).catch((e) => e);
    expect(first).toBeInstanceOf(ArrowFileError);
    expect(first.code).toBe('ARROW_FILE_IO');
    expect(first.retriable).toBe(true);
    expect(first.cause.code).toBe('ENOSPC');
    const second = await s.write(growingBatches()[1]).catch((e) => e);
    expect(second.code).toBe('ARROW_FILE_IO');
    expect(second.cause.code).toBe('ENOSPC');
    await s.close();
  });

  it('rejects unknown config keys', () => {
    expect(arrowFileConfig.safeParse({ path: 'x', pth: 'y' }).success).toBe(false);
  });

  describe('read by pyarrow, a reader written by someone else', () => {
    beforeAll(async () => {
      await run('bash', [join(root, 'scripts/python-venv.sh')]);
    });

    it('reads the rows, schema and growing dictionary', async () => {
      const s = sink({ path: 'py.arrows' });
      for (const b of growingBatches()) await s.write(b);
      await s.close();
      const script = [
        'import json, sys, pyarrow.ipc as ipc',
        'with open(sys.argv[1], "rb") as f:',
        '    r = ipc.open_stream(f)',
        '    t = r.read_all()',
        'print(json.dumps({"rows": t.num_rows, "schema": [f"{f.name}:{f.type}" for f in t.schema],',
        '  "symbols": [str(s) for s in t.column("symbol").to_pylist()],',
        '  "prices": t.column("price").to_pylist(),',
        '  "first_ts": t.column("ts")[0].value,',
        '  "deltas": r.stats.num_dictionary_deltas, "replaced": r.stats.num_replaced_dictionaries}))',
      ].join('\n');
      const { stdout } = await run(python, ['-c', script, join(dir, 'py.arrows')]);
      const out = JSON.parse(stdout);
      expect(out.rows).toBe(7);
      expect(out.schema).toEqual([
        'ts:timestamp[us, tz=UTC]',
        'symbol:dictionary<values=string, indices=int32, ordered=0>',
        'price:double',
      ]);
      expect(out.symbols).toEqual(EXPECTED_SYMBOLS);
      expect(out.prices).toEqual(EXPECTED_PRICES);
      expect(out.first_ts).toBe(T0);
      // Each new symbol is sent once, as a delta; the dictionary is never re-sent whole.
      expect(out.deltas).toBe(2);
      expect(out.replaced).toBe(0);
    });
  });
});
