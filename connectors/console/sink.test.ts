import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { AckSet } from '../../pipeline/acks.ts';
import type { Batch } from '../../pipeline/types.ts';
import {
  dictionaryVector,
  float64Vector,
  int64Vector,
  recordBatchFromVectors,
  timestampVector,
} from '../../timeseries/arrow.ts';
import { formatNumber, isoMicros } from './format.ts';
import { LiveScreen } from './screen.ts';
import { ConsoleSink, consoleConfig } from './sink.ts';

class FakeOut {
  chunks: string[] = [];
  columns = 120;
  constructor(readonly isTTY: boolean) {}
  write(text: string): boolean {
    this.chunks.push(text);
    return true;
  }
  get text(): string {
    return this.chunks.join('');
  }
}

const T0 = Date.UTC(2024, 0, 2, 9, 30, 0) * 1000 + 123_456;

function batch(stream: string, n: number, start = 0): Batch {
  const ts = new Float64Array(n);
  const codes = new Int32Array(n);
  const price = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    ts[i] = T0 + (start + i) * 1000;
    codes[i] = (start + i) % 2;
    price[i] = 100 + start + i + 0.5;
  }
  const data = recordBatchFromVectors({
    ts: timestampVector(ts),
    symbol: dictionaryVector(codes, ['BTC-USD', 'ETH-USD']),
    price: float64Vector(price),
    trades: int64Vector(Float64Array.from({ length: n }, (_, i) => start + i)),
  });
  return { stream, data, acks: AckSet.empty() };
}

/** What a terminal would show: apply line clears and cursor-up moves to a list of lines. */
function screenText(raw: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  const esc = String.fromCharCode(27);
  const re = new RegExp(`${esc}\\[(\\d*)([AJK])|\r|\n|[^${esc}\r\n]+`, 'g');
  for (const m of raw.matchAll(re)) {
    const tok = m[0];
    if (tok === '\n') {
      row++;
      if (lines.length <= row) lines.push('');
    } else if (tok === '\r') {
    } else if (m[2] === 'A') {
      row = Math.max(0, row - Number(m[1] || 1));
    } else if (m[2] === 'J') {
      lines.length = row + 1;
      lines[row] = '';
    } else if (m[2] === 'K') {
      lines[row] = '';
    } else {
      lines[row] += tok;
    }
  }
  return lines.filter((l, i) => l !== '' || i < lines.length - 1);
}

describe('console sink, JSON lines', () => {
  it('writes one object per row with ISO timestamps when not on a TTY', async () => {
    const out = new FakeOut(false);
    const sink = new ConsoleSink(consoleConfig.parse({}), out, new VirtualTimeScheduler());
    expect(sink.durable).toBe(false);
    await sink.write(batch('trades', 2));
    const rows = out.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toEqual([
      { stream: 'trades', ts: '2024-01-02T09:30:00.123456Z', symbol: 'BTC-USD', price: 100.5, trades: 0 },
      { stream: 'trades', ts: '2024-01-02T09:30:00.124456Z', symbol: 'ETH-USD', price: 101.5, trades: 1 },
    ]);
  });

  it('keeps only the configured columns, in their order', async () => {
    const out = new FakeOut(false);
    const sink = new ConsoleSink(
      consoleConfig.parse({ columns: ['price', 'symbol'] }),
      out,
      new VirtualTimeScheduler(),
    );
    await sink.write(batch('trades', 1));
    expect(out.text).toBe('{"stream":"trades","price":100.5,"symbol":"BTC-USD"}\n');
  });

  it('waits for drain when the output is full', async () => {
    let drain: () => void = () => {};
    const out = {
      isTTY: false,
      write: () => false,
      once: (_e: 'drain', fn: () => void) => {
        drain = fn;
      },
    };
    const sink = new ConsoleSink(consoleConfig.parse({}), out, new VirtualTimeScheduler());
    let done = false;
    const p = sink.write(batch('trades', 1)).then(() => {
      done = true;
    });
    await Promise.resolve();
    expect(done).toBe(false);
    drain();
    await p;
    expect(done).toBe(true);
  });
});

describe('console sink, live table', () => {
  it('shows the latest rows per stream, redrawn at most once per refresh interval', async () => {
    const out = new FakeOut(true);
    const scheduler = new VirtualTimeScheduler();
    const sink = new ConsoleSink(consoleConfig.parse({ max_rows: 3, refresh: '500ms' }), out, scheduler);
    await sink.write(batch('trades', 2, 0));
    await sink.write(batch('trades', 2, 2));
    await sink.write(batch('quotes', 1, 0));
    expect(out.chunks).toHaveLength(0);
    scheduler.flush();
    expect(out.chunks).toHaveLength(1);

    const shown = screenText(out.text);
    expect(shown[0]).toBe('trades · 4 rows · 2 batches');
    expect(shown[1].trim().split(/\s+/)).toEqual(['ts', 'symbol', 'price', 'trades']);
    expect(shown.slice(2, 5).map((l) => l.trim().split(/\s+/))).toEqual([
      ['09:30:00.124456', 'ETH-USD', '101.5000', '1'],
      ['09:30:00.125456', 'BTC-USD', '102.5000', '2'],
      ['09:30:00.126456', 'ETH-USD', '103.5000', '3'],
    ]);
    expect(shown[5]).toBe('quotes · 1 rows · 1 batches');
    expect(shown).toHaveLength(8);

    await sink.write(batch('trades', 1, 4));
    scheduler.maxFrames = scheduler.now() + 499;
    scheduler.flush();
    expect(out.chunks).toHaveLength(1);
    await sink.close();
    expect(out.chunks).toHaveLength(2);
    const redrawn = screenText(out.text);
    expect(redrawn[0]).toBe('trades · 5 rows · 3 batches');
    expect(redrawn).toHaveLength(8);
  });

  it('prints log lines above the live area without tearing it', () => {
    const out = new FakeOut(true);
    const scheduler = new VirtualTimeScheduler();
    const screen = new LiveScreen(out, scheduler, 100);
    screen.set('status', ['status: 1 rows/s'], 10);
    screen.set('table', ['table row'], 0);
    scheduler.flush();
    screen.print('a log line');
    expect(screenText(out.text)).toEqual(['a log line', 'table row', 'status: 1 rows/s']);
    screen.remove('table');
    scheduler.flush();
    expect(screenText(out.text)).toEqual(['a log line', 'status: 1 rows/s']);
  });

  it('cuts lines to the terminal width so none wraps', () => {
    const out = new FakeOut(true);
    out.columns = 10;
    const scheduler = new VirtualTimeScheduler();
    const screen = new LiveScreen(out, scheduler);
    screen.set('x', ['0123456789abcdef']);
    screen.flush();
    expect(screenText(out.text)).toEqual(['01234567…']);
  });
});

describe('formatting', () => {
  it.each([
    [0, '0'],
    [1234567, '1,234,567'],
    [101.5, '101.5000'],
    [0.000123, '0.000123'],
    [0.4197, '0.4197'],
    [0.0012345678, '0.001235'],
    [43210.129, '43,210.13'],
    [-2.5, '-2.5000'],
    [2e13, '2.0000e+13'],
    [Number.NaN, 'NaN'],
  ])('formatNumber(%d) = %s', (x, text) => {
    expect(formatNumber(x)).toBe(text);
  });

  it('renders epoch microseconds as ISO-8601 with six fraction digits', () => {
    expect(isoMicros(0)).toBe('1970-01-01T00:00:00.000000Z');
    expect(isoMicros(T0)).toBe('2024-01-02T09:30:00.123456Z');
  });

  it('rejects unknown options', () => {
    expect(consoleConfig.safeParse({ max_row: 3 }).success).toBe(false);
  });
});
