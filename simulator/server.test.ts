import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Market, newTick, TickEncoder, TRADE, type TradeRow, tradeRow } from './market.ts';
import { parseSimulateArgs, SimulateArgsError } from './options.ts';
import { ExchangeSimulator, type SimulatorOptions } from './server.ts';

const START = 1_700_000_000_000;
const running: ExchangeSimulator[] = [];
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

async function sim(options: SimulatorOptions): Promise<ExchangeSimulator> {
  const s = await ExchangeSimulator.start({ startTime: START, ...options });
  running.push(s);
  return s;
}

/** A test client that records every text message. */
async function client(url: string, opens: unknown[] = []) {
  const ws = new WebSocket(url);
  sockets.push(ws);
  const messages: string[] = [];
  let closeCode = 0;
  ws.on('message', (d) => messages.push(d.toString()));
  ws.on('close', (code) => {
    closeCode = code;
  });
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  for (const m of opens) ws.send(JSON.stringify(m));
  return { ws, messages, closeCode: () => closeCode };
}

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const ALL = [
  { op: 'subscribe', channel: 'trades', symbols: ['*'] },
  { op: 'subscribe', channel: 'quotes', symbols: ['*'] },
];

function data(messages: string[]): Record<string, unknown>[] {
  return messages.map((m) => JSON.parse(m)).filter((m) => m.type === 'trade' || m.type === 'quote');
}

describe('Market determinism', () => {
  it('gives the same ticks for the same seed and different ticks for another seed', () => {
    const encode = (seed: number) => {
      const m = new Market({ symbols: ['A', 'B', 'C'], rate: 1000, seed, startTime: START });
      const e = new TickEncoder(['A', 'B', 'C']);
      const t = newTick();
      return Array.from({ length: 5000 }, () => e.encode(m.next(t)));
    };
    const a = encode(42);
    expect(encode(42)).toEqual(a);
    expect(encode(43)).not.toEqual(a);
    // Simulated time advances with the rate: 5000 ticks at 1000/s span 5 s.
    expect(JSON.parse(a[4999]).ts).toBe(START + 4999);
    const seqs = new Map<string, number>();
    for (const text of a) {
      const m = JSON.parse(text);
      const key = `${m.type}:${m.symbol}`;
      expect(m.seq).toBe((seqs.get(key) ?? 0) + 1);
      seqs.set(key, m.seq);
    }
  });

  it('replays any index from checkpoints exactly', () => {
    const m = new Market({ symbols: ['A', 'B'], rate: 500, seed: 9, startTime: START });
    const t = newTick();
    const texts: string[] = [];
    const e = new TickEncoder(['A', 'B']);
    for (let i = 0; i < 10_000; i++) texts.push(e.encode(m.next(t)));
    for (const at of [0, 4095, 4096, 8191, 9999]) {
      expect(e.encode(m.at(at).next(t))).toBe(texts[at]);
    }
  });
});

describe('ExchangeSimulator feed', () => {
  it('publishes exactly the deterministic ticks to subscribers, with acks', async () => {
    const s = await sim({ rate: 5000, seed: 5, symbols: ['BTC-USD', 'ETH-USD'] });
    const c = await client(s.url, ALL);
    await until(() => c.messages.length > 500);
    expect(JSON.parse(c.messages[0])).toEqual({
      type: 'subscribed',
      channel: 'trades',
      symbols: ['BTC-USD', 'ETH-USD'],
    });
    const reference = new Market({ symbols: ['BTC-USD', 'ETH-USD'], rate: 5000, seed: 5, startTime: START });
    const encoder = new TickEncoder(['BTC-USD', 'ETH-USD']);
    const expected = new Map<string, string>();
    const t = newTick();
    while (reference.index < s.market.index) {
      const text = encoder.encode(reference.next(t));
      expected.set(`${t.kind}:${t.symbol}:${t.seq}`, text);
    }
    const received = c.messages.filter(
      (m) => m.startsWith('{"type":"trade"') || m.startsWith('{"type":"quote"'),
    );
    expect(received.length).toBeGreaterThan(400);
    for (const text of received) {
      const m = JSON.parse(text);
      const key = `${m.type === 'trade' ? 0 : 1}:${m.symbol === 'BTC-USD' ? 0 : 1}:${m.seq}`;
      expect(text).toBe(expected.get(key));
    }
  });

  it('sends only subscribed channels and symbols, and reports subscriptions', async () => {
    const s = await sim({ rate: 4000, seed: 2 });
    const c = await client(s.url, [{ op: 'subscribe', channel: 'quotes', symbols: ['ETH-USD', 'SOL-USD'] }]);
    await until(() => c.messages.length > 100);
    for (const m of data(c.messages)) {
      expect(m.type).toBe('quote');
      expect(['ETH-USD', 'SOL-USD']).toContain(m.symbol);
    }
    const [info] = s.stats().clients;
    expect(info.subscriptions).toEqual(['quotes:ETH-USD', 'quotes:SOL-USD']);
    expect(s.subscriptions(info.id)).toEqual(info.subscriptions);
    c.ws.send(JSON.stringify({ op: 'subscribe', channel: 'quotes', symbols: ['NOPE'] }));
    await until(() => c.messages.some((m) => m.includes('unknown symbols: NOPE')));
  });

  it('writes prices as strings when asked, and arrays of ticks with batchTicks', async () => {
    const s = await sim({ rate: 5000, seed: 3, numbers: 'string', batchTicks: 50 });
    const c = await client(s.url, ALL);
    await until(() => c.messages.filter((m) => m.startsWith('[')).length > 5);
    const arrays = c.messages
      .filter((m) => m.startsWith('['))
      .map((m) => JSON.parse(m) as Record<string, unknown>[]);
    for (const a of arrays) {
      expect(a.length).toBeGreaterThan(0);
      expect(a.length).toBeLessThanOrEqual(50);
      for (const tick of a) {
        if (tick.type === 'trade') expect(typeof tick.price).toBe('string');
        else expect(typeof tick.bid).toBe('string');
        expect(typeof tick.seq).toBe('number');
      }
    }
  });

  it('requires auth when keys are configured', async () => {
    const s = await sim({ rate: 1000, apiKeys: ['k1'] });
    const early = await client(s.url, [ALL[0]]);
    await until(() => early.messages.length > 0);
    expect(JSON.parse(early.messages[0])).toMatchObject({ type: 'error', code: 'unauthorized' });
    const bad = await client(s.url, [{ op: 'auth', key: 'nope' }]);
    await until(() => bad.closeCode() === 1008);
    const good = await client(s.url, [{ op: 'auth', key: 'k1' }, ALL[0]]);
    await until(() => data(good.messages).length > 5);
    expect(JSON.parse(good.messages[0])).toEqual({ type: 'auth', ok: true });
  });
});

describe('ExchangeSimulator faults', () => {
  it('gap: withholds ticks, records them, and receivers see exactly those seqs missing', async () => {
    const s = await sim({ rate: 4000, seed: 11, symbols: ['BTC-USD'] });
    const c = await client(s.url, ALL);
    await until(() => data(c.messages).length > 50);
    s.inject({ kind: 'gap', count: 3, symbol: 'BTC-USD', channel: 'trades' });
    s.inject({ kind: 'gap', count: 2, channel: 'quotes' });
    await until(() => s.stats().gapTicks === 5);
    const gaps = s.stats().gaps;
    await until(() => {
      const trades = data(c.messages).filter((m) => m.type === 'trade');
      return (trades.at(-1)?.seq as number) > Math.max(...gaps.map((g) => g.seq)) + 1;
    });
    for (const channel of ['trades', 'quotes'] as const) {
      const seqs = data(c.messages)
        .filter((m) => m.type === (channel === 'trades' ? 'trade' : 'quote'))
        .map((m) => m.seq as number);
      const missing: number[] = [];
      for (let i = 1; i < seqs.length; i++) for (let q = seqs[i - 1] + 1; q < seqs[i]; q++) missing.push(q);
      expect(missing).toEqual(gaps.filter((g) => g.channel === channel).map((g) => g.seq));
    }
    expect(gaps.filter((g) => g.channel === 'trades')).toHaveLength(3);
  });

  it('stall: goes silent and stops answering pings; disconnect via HTTP closes with 1012', async () => {
    const s = await sim({ rate: 2000 });
    const c = await client(s.url, ALL);
    let pongs = 0;
    c.ws.on('pong', () => pongs++);
    c.ws.ping();
    await until(() => pongs === 1);
    s.inject({ kind: 'stall' });
    const before = c.messages.length;
    c.ws.ping();
    await new Promise((r) => setTimeout(r, 150));
    expect(pongs).toBe(1);
    expect(c.messages.length - before).toBeLessThan(50);
    const after = c.messages.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(c.messages.length).toBe(after);
    expect(s.stats().clients[0].stalled).toBe(true);
    const other = await client(s.url, ALL);
    const res = await fetch(`${s.restUrl}/control/fault`, {
      method: 'POST',
      body: JSON.stringify({ kind: 'disconnect' }),
    });
    expect(res.status).toBe(200);
    await until(() => other.closeCode() === 1012);
    const bad = await fetch(`${s.restUrl}/control/fault`, { method: 'POST', body: '{"kind":"explode"}' });
    expect(bad.status).toBe(400);
    expect(s.stats().faults).toMatchObject({ stall: 1, disconnect: 1 });
  });

  it('applies scheduled faults at their simulated time, and malformed frames are invalid JSON', async () => {
    const s = await sim({
      rate: 2000,
      faults: [
        { at: 300, kind: 'malformed', count: 2 },
        { at: 400, kind: 'disconnect', mode: 'close' },
      ],
    });
    const c = await client(s.url, ALL);
    await until(() => c.closeCode() === 1012);
    const invalid = c.messages.filter((m) => {
      try {
        JSON.parse(m);
        return false;
      } catch {
        return true;
      }
    });
    expect(invalid).toHaveLength(2);
    expect(s.stats().malformedSent).toBe(2);
  });

  it('slow client: a reader that stops is disconnected past the buffer bound, counted', async () => {
    const s = await sim({ rate: 50_000, maxClientBufferBytes: 256 * 1024, symbols: 8 });
    const c = await client(s.url, ALL);
    await until(() => c.messages.length > 100);
    c.ws.pause();
    await until(() => s.stats().slowClientDisconnects === 1, 8000);
    // The backlog reached the bound and stopped there (plus at most one publish cycle's write).
    const peak = s.stats().peakClientBufferedBytes;
    expect(peak).toBeGreaterThan(256 * 1024);
    expect(peak).toBeLessThan(256 * 1024 + 4 * 1024 * 1024);
    expect(s.stats().clients).toHaveLength(0);
  });
});

describe('ExchangeSimulator liveness and slow-client drop policy', () => {
  it('pings clients on its own schedule', async () => {
    const s = await sim({ rate: 100, pingIntervalMs: 30 });
    const c = await client(s.url);
    let pings = 0;
    c.ws.on('ping', () => pings++);
    await until(() => pings >= 3);
  });

  it('drop: a stalled reader keeps its connection but loses messages, counted', async () => {
    const s = await sim({ rate: 50_000, symbols: 8, maxClientBufferBytes: 128 * 1024, slowClient: 'drop' });
    const c = await client(s.url, ALL);
    await until(() => c.messages.length > 100);
    c.ws.pause();
    await until(() => s.stats().slowClientDroppedMessages > 10_000, 8000);
    expect(s.stats().slowClientDisconnects).toBe(0);
    expect(s.stats().clients).toHaveLength(1);
    expect(s.stats().peakClientBufferedBytes).toBeLessThan(128 * 1024 + 4 * 1024 * 1024);
  });
});

describe('ExchangeSimulator REST', () => {
  async function history(s: ExchangeSimulator, ticks: number) {
    s.inject({ kind: 'burst', count: ticks });
    await until(() => s.market.index >= ticks);
  }

  function referenceTrades(s: ExchangeSimulator, symbol: string, start: number, end: number): TradeRow[] {
    const m = new Market(s.market.config);
    const t = newTick();
    const out: TradeRow[] = [];
    const live = s.market.index;
    while (m.index < live) {
      m.next(t);
      if (t.kind === TRADE && s.symbols[t.symbol] === symbol && t.ts >= start && t.ts < end) {
        out.push(tradeRow(s.symbols, t));
      }
    }
    return out;
  }

  it('trades pages cover every row exactly once', async () => {
    const s = await sim({ rate: 1000, seed: 21, publishIntervalMs: 5 });
    await history(s, 12_000);
    const start = START + 1234;
    const end = START + 9876;
    const rows: TradeRow[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q = new URLSearchParams({
        symbol: 'ETH-USD',
        start: String(start),
        end: String(end),
        limit: '97',
      });
      if (cursor) q.set('cursor', cursor);
      const page = (await (await fetch(`${s.restUrl}/api/v1/trades?${q}`)).json()) as {
        data: TradeRow[];
        next: string | null;
      };
      rows.push(...page.data);
      cursor = page.next;
      pages++;
    } while (cursor);
    const expected = referenceTrades(s, 'ETH-USD', start, end);
    expect(expected.length).toBeGreaterThan(500);
    expect(pages).toBe(Math.ceil(expected.length / 97) + (expected.length % 97 === 0 ? 1 : 0));
    expect(rows).toEqual(expected);
  });

  it('keeps bounded history: older ranges answer 410, recent ones still page exactly', async () => {
    const s = await sim({ rate: 1000, seed: 23, publishIntervalMs: 5, historyTicks: 8192 });
    await history(s, 40_000);
    expect(s.market.oldestIndex).toBeGreaterThan(0);
    const old = await fetch(`${s.restUrl}/api/v1/trades?symbol=BTC-USD&start=${START}&limit=10`);
    expect(old.status).toBe(410);
    const recent = await fetch(
      `${s.restUrl}/api/v1/trades?symbol=BTC-USD&start=${START + 35_000}&limit=1000`,
    );
    const page = (await recent.json()) as { data: TradeRow[] };
    // The feed moves on while we compare: check the page against the same span of the reference.
    const reference = referenceTrades(s, 'BTC-USD', START + 35_000, Number.MAX_SAFE_INTEGER);
    expect(page.data.length).toBeGreaterThan(400);
    expect(page.data).toEqual(reference.slice(0, page.data.length));
  });

  it('klines pages equal one big page and the bars match the trades', async () => {
    const s = await sim({ rate: 1000, seed: 22, publishIntervalMs: 5 });
    await history(s, 20_000);
    const base = `${s.restUrl}/api/v1/klines?symbol=BTC-USD&interval=1s&start=${START}&end=${START + 15_000}`;
    const whole = (await (await fetch(`${base}&limit=1000`)).json()) as { data: Record<string, number>[] };
    expect(whole.data).toHaveLength(15);
    const paged: Record<string, number>[] = [];
    let cursor: string | null = null;
    do {
      const page = (await (await fetch(`${base}&limit=4${cursor ? `&cursor=${cursor}` : ''}`)).json()) as {
        data: Record<string, number>[];
        next: string | null;
      };
      paged.push(...page.data);
      cursor = page.next;
    } while (cursor);
    expect(paged).toEqual(whole.data);
    const trades = referenceTrades(s, 'BTC-USD', START + 3000, START + 4000);
    expect(whole.data[3]).toMatchObject({
      t: START + 3000,
      open: trades[0].price,
      close: trades.at(-1)!.price,
      high: Math.max(...trades.map((x) => x.price)),
      low: Math.min(...trades.map((x) => x.price)),
      trades: trades.length,
    });
    const bad = await fetch(`${s.restUrl}/api/v1/klines?symbol=BTC-USD&interval=1mo`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'interval must be a fixed duration such as 1s, 1m, 1h, 1d' });
  });
});

describe('parseSimulateArgs', () => {
  it('parses every option', () => {
    expect(
      parseSimulateArgs([
        '--port',
        '0',
        '--symbols=BTC-USD,ETH-USD',
        '--rate',
        '20000',
        '--seed',
        '7',
        '--start-time',
        '2024-01-01T00:00:00Z',
        '--batch-ticks',
        '50',
        '--numbers',
        'string',
        '--api-key',
        'k',
        '--ping-interval',
        '5s',
        '--max-client-buffer',
        '1MiB',
        '--slow-client',
        'drop',
        '--history-ticks',
        '100000',
        '--fault',
        '30s:disconnect',
        '--fault',
        '1m:oversize:2000000',
      ]),
    ).toEqual({
      port: 0,
      symbols: ['BTC-USD', 'ETH-USD'],
      rate: 20_000,
      seed: 7,
      startTime: Date.UTC(2024, 0, 1),
      batchTicks: 50,
      numbers: 'string',
      apiKeys: ['k'],
      pingIntervalMs: 5000,
      maxClientBufferBytes: 1024 * 1024,
      slowClient: 'drop',
      historyTicks: 100_000,
      faults: [
        { kind: 'disconnect', at: 30_000 },
        { kind: 'oversize', bytes: 2_000_000, at: 60_000 },
      ],
    });
    expect(parseSimulateArgs(['--symbols', '12']).symbols).toBe(12);
  });

  it('rejects bad input with a message naming the option', () => {
    expect(() => parseSimulateArgs(['--rate', '-1'])).toThrow(/--rate/);
    expect(() => parseSimulateArgs(['--fault', '10s:explode'])).toThrow(SimulateArgsError);
    expect(() => parseSimulateArgs(['--bogus'])).toThrow(/unknown option --bogus/);
    expect(() => parseSimulateArgs(['--seed'])).toThrow(/needs a value/);
  });
});
