/**
 * ws-ingest: how fast JSON ticks arriving over a WebSocket become Arrow batches on one core.
 *
 * A local server on 127.0.0.1 writes the same pre-encoded text frames (RFC 6455, unmasked) to the
 * raw socket in ~1 MB chunks, so the sender is never the bottleneck (a `ws.send` per message caps
 * near 120k messages/s). Ours: the websocket source → batcher (policy count 10 000) → JSON
 * decoder → Arrow record batches of four columns (timestamp µs, symbol dictionary, price, size).
 * Peer: a raw `ws` client that `JSON.parse`s each message and stores three fields into plain
 * arrays (cleared every 10 000 rows), receiving the same frames in the same process. Both share
 * the one event loop with the server, as a single-core deployment would. Two more metrics time
 * the decoder alone on the same messages as text, against the same JSON.parse loop.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket from 'ws';
import { type SchemaDecl, zBatchPolicy, zDecode } from '../config/common.ts';
import { WebsocketSource, websocketConfig } from '../connectors/websocket/source.ts';
import { Batcher } from '../pipeline/batcher.ts';
import { systemClock } from '../pipeline/clock.ts';
import { createJsonDecoder } from '../pipeline/decode/json.ts';
import { silentLogger } from '../pipeline/logger.ts';
import type { DeadLetter } from '../pipeline/types.ts';
import { encodeTextFrames } from '../simulator/frames.ts';
import { type Benchmark, type MetricSpec, median } from './harness.ts';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const CHUNK_BYTES = 1 << 20;
const SYMBOLS = ['BTC-USD', 'ETH-USD', 'SOL-USD', 'XRP-USD', 'ADA-USD', 'DOGE-USD', 'AVAX-USD', 'LINK-USD'];
const SCHEMA: SchemaDecl = { ts: 'timestamp', symbol: 'symbol', price: 'f64', size: 'f64' };
const DECODE = { timestamp: { field: 'ts', unit: 'ms' } };
const POLICY = zBatchPolicy.parse({ count: 10_000 });

/**
 * Wall-clock and CPU seconds since `start()`. The box is shared, so besides the wall-clock rate
 * (the metric) each run also records a rate per CPU-second of this process, which other
 * processes' load disturbs far less.
 */
function stopwatch(): () => { wall: number; cpu: number } {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  return () => {
    const c = process.cpuUsage(c0);
    return { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
  };
}

/** Median rate per CPU-second of each side, recorded as notes. */
class CpuRates {
  readonly ours: number[] = [];
  readonly peer: number[] = [];

  notes(): Record<string, number> {
    const o = median(this.ours);
    const p = median(this.peer);
    return {
      ours_per_cpu_second: Math.round(o),
      peer_per_cpu_second: Math.round(p),
      cpu_ratio: Math.round((o / p) * 1000) / 1000,
    };
  }
}

/** The simulator's trade shape, with deterministic prices and sizes. */
function trade(i: number): string {
  const symbol = SYMBOLS[i % SYMBOLS.length];
  const price = (40_000 + ((i * 7919) % 200_000) / 100).toFixed(2);
  const size = (((i * 104_729) % 100_000) / 10_000).toFixed(4);
  const side = i % 2 === 0 ? 'buy' : 'sell';
  return `{"type":"trade","symbol":"${symbol}","seq":${i},"ts":${1_700_000_000_000 + i},"price":${price},"size":${size},"side":"${side}"}`;
}

/** About 1 MB of frames, each message holding `ticks` trades (one object, or an array). */
function chunkOf(ticks: number): { chunk: Buffer; messages: number } {
  const texts: string[] = [];
  let bytes = 0;
  for (let m = 0; bytes < CHUNK_BYTES; m++) {
    let text: string;
    if (ticks === 1) text = trade(m);
    else {
      const rows: string[] = [];
      for (let k = 0; k < ticks; k++) rows.push(trade(m * ticks + k));
      text = `[${rows.join(',')}]`;
    }
    texts.push(text);
    bytes += text.length + 4;
  }
  return { chunk: encodeTextFrames(texts), messages: texts.length };
}

/** A receiving side: calls `done` with the rows it stored once `messages` messages arrived. */
type Client = (
  url: string,
  messages: number,
  done: (rows: number) => void,
  fail: (e: Error) => void,
) => { close(): Promise<void> };

/** Our path: websocket source → batcher → JSON decoder → Arrow batches of 10 000 rows. */
const ours: Client = (url, messages, done, fail) => {
  const config = websocketConfig.parse({
    url,
    schema: SCHEMA,
    decode: DECODE,
    batch: { count: POLICY.count },
  });
  const source = new WebsocketSource(config, { name: 'ticks', clock: systemClock, logger: silentLogger });
  const decoder = createJsonDecoder(config.schema, config.decode, { capacity: config.batch.count });
  const letters: DeadLetter[] = [];
  let rows = 0;
  const batcher = new Batcher(
    {
      stream: 'ticks',
      decoder,
      policy: config.batch,
      clock: systemClock,
      deadLetters: { write: async (letter) => void letters.push(letter) },
    },
    (batch) => {
      rows += batch.data.numRows;
      batch.acks.ack();
    },
  );
  let seen = 0;
  source
    .start(
      (env) => {
        batcher.push(env);
        if (++seen === messages) {
          batcher.close();
          if (letters.length > 0) fail(new Error(`ws-ingest: unexpected dead letter: ${letters[0].reason}`));
          else done(rows);
        }
      },
      (e) => {
        if (e.kind === 'disconnected' && seen < messages) fail(new Error(`ws-ingest: ${e.reason}`));
      },
    )
    .catch(fail);
  return { close: () => source.stop() };
};

/** The peer: a raw ws client, JSON.parse, three fields into plain arrays. */
const raw: Client = (url, messages, done, fail) => {
  let ts: number[] = [];
  let price: number[] = [];
  let size: number[] = [];
  let rows = 0;
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on('error', fail);
  let seen = 0;
  ws.on('message', (data: Buffer) => {
    const msg = JSON.parse(data.toString());
    if (Array.isArray(msg)) {
      for (const t of msg) {
        ts.push(t.ts);
        price.push(t.price);
        size.push(t.size);
      }
    } else {
      ts.push(msg.ts);
      price.push(msg.price);
      size.push(msg.size);
    }
    if (ts.length >= POLICY.count) {
      rows += ts.length;
      ts = [];
      price = [];
      size = [];
    }
    if (++seen === messages) done(rows + ts.length);
  });
  return {
    close: async () => {
      ws.terminate();
    },
  };
};

/**
 * Serve `reps` copies of `chunk` to one client and time it from the upgrade to its last message.
 * Returns wall-clock and CPU seconds and the rows the client counted.
 */
async function run(
  chunk: Buffer,
  reps: number,
  messages: number,
  client: Client,
): Promise<{ wall: number; cpu: number; rows: number }> {
  const sockets: Socket[] = [];
  let elapsed = stopwatch();
  const server = createServer();
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    sockets.push(socket);
    socket.setNoDelay(true);
    socket.on('error', () => {});
    const accept = createHash('sha1')
      .update(`${req.headers['sec-websocket-key']}${WS_GUID}`)
      .digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    elapsed = stopwatch();
    let left = reps;
    const pump = (): void => {
      while (left > 0) {
        left--;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let receiver: { close(): Promise<void> } | undefined;
  try {
    return await new Promise((resolve, reject) => {
      receiver = client(
        `ws://127.0.0.1:${port}/`,
        messages,
        (rows) => resolve({ ...elapsed(), rows }),
        reject,
      );
    });
  } finally {
    // This server does not answer close frames: end its sockets first so the client closes at once.
    for (const s of sockets) s.destroy();
    await receiver?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function metric(name: string, ticks: number, targetMessages: number): MetricSpec {
  const { chunk, messages: perChunk } = chunkOf(ticks);
  const reps = Math.ceil(targetMessages / perChunk);
  const messages = perChunk * reps;
  const expectedRows = messages * ticks;
  const unit = ticks === 1 ? 'messages/s' : 'ticks/s';
  const cpu = new CpuRates();
  const rate = async (client: Client, cpuRates: number[]): Promise<number> => {
    const { wall, cpu: cpuSeconds, rows } = await run(chunk, reps, messages, client);
    if (rows !== expectedRows) throw new Error(`ws-ingest: ${rows} rows decoded, expected ${expectedRows}`);
    const count = ticks === 1 ? messages : rows;
    cpuRates.push(count / cpuSeconds);
    return count / wall;
  };
  return {
    name,
    unit,
    better: 'higher',
    ours: () => rate(ours, cpu.ours),
    peer: { name: 'ws + JSON.parse, 3 fields into arrays', run: () => rate(raw, cpu.peer) },
    notes: () => ({
      ...cpu.notes(),
      messages,
      ticks: expectedRows,
      frame_bytes: chunk.byteLength * reps,
      batch_rows: POLICY.count,
      path: 'websocket source → batcher → JSON decoder → Arrow',
    }),
  };
}

/**
 * The same messages as text, for the decoder alone: flat strings decoded from UTF-8, as the source
 * hands them on (a concatenated string would be flattened by whichever side parses it first).
 */
function textsOf(ticks: number, messages: number): string[] {
  const texts: string[] = [];
  for (let m = 0; m < messages; m++) {
    let text: string;
    if (ticks === 1) text = trade(m);
    else {
      const rows: string[] = [];
      for (let k = 0; k < ticks; k++) rows.push(trade(m * ticks + k));
      text = `[${rows.join(',')}]`;
    }
    texts.push(Buffer.from(text).toString());
  }
  return texts;
}

/**
 * The decoder alone, in process (no socket, no batcher): what issue 2 asks of it is ≥ 0.85 of a
 * raw JSON.parse loop that stores three fields.
 */
function decodeMetric(name: string, ticks: number, messages: number): MetricSpec {
  const texts = textsOf(ticks, messages);
  const total = ticks * messages;
  const cpu = new CpuRates();
  const decoderRate = (): number => {
    const decoder = createJsonDecoder(SCHEMA, zDecode.parse(DECODE), { capacity: POLICY.count });
    let rows = 0;
    const reject = (reason: string): void => {
      throw new Error(`ws-ingest: unexpected reject: ${reason}`);
    };
    const elapsed = stopwatch();
    for (let m = 0; m < texts.length; m++) {
      decoder.decode(texts[m], reject);
      if (decoder.pendingRows >= POLICY.count) rows += decoder.flush().numRows;
    }
    rows += decoder.flush().numRows;
    const { wall, cpu: cpuSeconds } = elapsed();
    if (rows !== total) throw new Error(`ws-ingest: ${rows} rows decoded, expected ${total}`);
    cpu.ours.push(total / cpuSeconds);
    return total / wall;
  };
  const rawRate = (): number => {
    let ts: number[] = [];
    let price: number[] = [];
    let size: number[] = [];
    let rows = 0;
    const elapsed = stopwatch();
    for (let m = 0; m < texts.length; m++) {
      const msg = JSON.parse(texts[m]);
      if (Array.isArray(msg)) {
        for (const t of msg) {
          ts.push(t.ts);
          price.push(t.price);
          size.push(t.size);
        }
      } else {
        ts.push(msg.ts);
        price.push(msg.price);
        size.push(msg.size);
      }
      if (ts.length >= POLICY.count) {
        rows += ts.length;
        ts = [];
        price = [];
        size = [];
      }
    }
    rows += ts.length;
    const { wall, cpu: cpuSeconds } = elapsed();
    if (rows !== total) throw new Error(`ws-ingest: ${rows} rows parsed, expected ${total}`);
    cpu.peer.push(total / cpuSeconds);
    return total / wall;
  };
  return {
    name,
    unit: ticks === 1 ? 'messages/s' : 'ticks/s',
    better: 'higher',
    ours: decoderRate,
    peer: { name: 'JSON.parse, 3 fields into arrays', run: rawRate },
    notes: () => ({ ...cpu.notes(), messages, ticks: total, batch_rows: POLICY.count }),
  };
}

const bench: Benchmark = {
  id: 'ws-ingest',
  title:
    'WebSocket JSON ticks to Arrow batches (10 000 rows), one core, frames bulk-written by a local server',
  aim: '≥ 500 000 single-tick messages/s and ratio ≥ 0.85 of the raw ws + JSON.parse loop',
  run: () => [
    metric('1 tick per message, ~2M messages', 1, 2_000_000),
    metric('50-tick arrays, ~100k messages (~5M ticks)', 50, 100_000),
    decodeMetric('decoder alone, 1 tick per message, 500k messages', 1, 500_000),
    decodeMetric('decoder alone, 50-tick arrays, 20k messages (1M ticks)', 50, 20_000),
  ],
};

export default bench;
