/**
 * ExchangeSimulator: an in-process exchange with a WebSocket feed, REST history and fault
 * injection, seeded and deterministic. Tests, the demo and `polaroid simulate` use it.
 *
 * Protocol (path `/ws`): a client sends `{op:'subscribe', channel:'trades'|'quotes', symbols:[...]}`
 * (`['*']` = all) and gets `{type:'subscribed', channel, symbols}` back; `{op:'unsubscribe', ...}`
 * mirrors it. With `apiKeys` set, `{op:'auth', key}` must come first (`{type:'auth', ok}`; a wrong
 * key closes with 1008). Data: one JSON object per text frame, or with `batchTicks` an array of up
 * to that many ticks per frame. The server pings every `pingIntervalMs`.
 *
 * Throughput: ticks are encoded once per publish cycle into RFC 6455 frames and written to each
 * client's raw TCP socket in one call (the `ws` instance still handles control frames); a client
 * subscribed to everything in a cycle gets the shared buffer without a copy.
 *
 * Slow clients: when a client's socket holds more than `maxClientBufferBytes` unsent, the
 * `slowClient` policy applies: `disconnect` (default) destroys the socket, `drop` skips its
 * messages; both are counted in `stats()`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { type Fault, type FaultKind, parseFault, type ScheduledFault } from './faults.ts';
import { encodeTextFrame, frameHeaderLength, writeTextFrameHeader } from './frames.ts';
import {
  type Channel,
  HistoryGoneError,
  Market,
  type NumberFormat,
  newTick,
  type Tick,
  TickEncoder,
  TRADE,
} from './market.ts';
import { klinesPage, RestError, tradesPage } from './rest.ts';

export interface SimulatorOptions {
  /** TCP port; 0 picks a free one. */
  port?: number;
  host?: string;
  /** Symbol names, or a count (`SYM000`, `SYM001`, ...). Default 4 crypto pairs. */
  symbols?: readonly string[] | number;
  /** Ticks per second across all symbols and both channels. Default 1000. */
  rate?: number;
  seed?: number;
  /** When set, each frame carries a JSON array of up to this many ticks. */
  batchTicks?: number;
  /** Exchange time of the first tick, epoch ms. Default: now, rounded down to the second. */
  startTime?: number;
  /** Share of ticks that are trades. Default 0.4. */
  tradeShare?: number;
  /** How decimals are written: numbers, strings, or mixed. Default number. */
  numbers?: NumberFormat;
  /** Faults applied when simulated time reaches `startTime + at`. */
  faults?: readonly ScheduledFault[];
  /** Required `{op:'auth', key}` keys; none = no auth. */
  apiKeys?: readonly string[];
  /** Server ping period, ms (0 = no pings). Default 10 000. */
  pingIntervalMs?: number;
  /** Publish cycle, ms. Default 10. */
  publishIntervalMs?: number;
  /** Unsent bytes per client beyond which the slow-client policy applies. Default 8 MiB. */
  maxClientBufferBytes?: number;
  slowClient?: 'disconnect' | 'drop';
  /** Ticks of REST history kept (memory stays bounded on long runs). Default 16 777 216. */
  historyTicks?: number;
}

export interface ClientStats {
  id: number;
  /** `channel:symbol`, sorted. */
  subscriptions: string[];
  authed: boolean;
  stalled: boolean;
  messagesSent: number;
  bufferedBytes: number;
  maxBufferedBytes: number;
}

export interface DroppedTick {
  symbol: string;
  channel: Channel;
  seq: number;
}

export interface SimulatorStats {
  /** Ticks generated so far (the feed's position in the deterministic stream). */
  ticks: number;
  simulatedTime: number;
  connections: number;
  clients: ClientStats[];
  messagesSent: number;
  bytesSent: number;
  slowClientDisconnects: number;
  slowClientDroppedMessages: number;
  faults: Record<FaultKind, number>;
  /** Ticks withheld by `gap` faults (the first 10 000). */
  gaps: DroppedTick[];
  gapTicks: number;
  malformedSent: number;
  /** Close codes of ended client connections (1006 = no close frame), with counts. */
  closeCodes: Record<number, number>;
  /** Ticks by which the feed fell behind its rate because the machine could not keep up. */
  lagTicks: number;
  /** Largest unsent backlog any client ever had, bytes (bounded by the slow-client policy). */
  peakClientBufferedBytes: number;
}

const DEFAULT_SYMBOLS = ['BTC-USD', 'ETH-USD', 'SOL-USD', 'XRP-USD'];
const MAX_GAP_RECORDS = 10_000;

interface Client {
  id: number;
  ws: WebSocket;
  socket: Socket;
  /** [trades of symbol s at 2s, quotes at 2s + 1] → subscribed. */
  mask: Uint8Array;
  authed: boolean;
  stalledUntil: number;
  messagesSent: number;
  maxBufferedBytes: number;
}

function symbolList(symbols: SimulatorOptions['symbols']): string[] {
  if (symbols === undefined) return DEFAULT_SYMBOLS.slice();
  if (typeof symbols === 'number') {
    return Array.from({ length: symbols }, (_, i) => `SYM${String(i).padStart(3, '0')}`);
  }
  return [...symbols];
}

export class ExchangeSimulator {
  /** `ws://host:port/ws` */
  readonly url: string;
  /** `http://host:port` (REST and /control). */
  readonly restUrl: string;
  readonly market: Market;
  readonly symbols: readonly string[];

  private readonly options: Required<Omit<SimulatorOptions, 'port' | 'host' | 'symbols' | 'batchTicks'>> & {
    batchTicks: number;
  };
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly encoder: TickEncoder;
  private readonly clients = new Map<number, Client>();
  private readonly pending: ScheduledFault[];
  private nextClientId = 1;
  private connections = 0;
  private startedAt = 0;
  /** Extra ticks from burst faults: all of them move the schedule ahead; `burstPending` are unsent. */
  private burstTicks = 0;
  private burstPending = 0;
  private publishTimer?: NodeJS.Timeout;
  private pingTimer?: NodeJS.Timeout;
  private stopped = false;
  private readonly tick: Tick = newTick();
  private readonly gapRules: { count: number; symbol: number; channel: number }[] = [];
  private malformedLeft = 0;
  private readonly counters = {
    messagesSent: 0,
    bytesSent: 0,
    slowClientDisconnects: 0,
    slowClientDroppedMessages: 0,
    gapTicks: 0,
    malformedSent: 0,
    peakClientBufferedBytes: 0,
    lagTicks: 0,
  };
  private readonly faultCounts: Record<FaultKind, number> = {
    disconnect: 0,
    stall: 0,
    gap: 0,
    malformed: 0,
    burst: 0,
    oversize: 0,
  };
  private readonly gaps: DroppedTick[] = [];
  private readonly closeCodes: Record<number, number> = {};

  private constructor(http: Server, options: SimulatorOptions) {
    this.symbols = symbolList(options.symbols);
    this.options = {
      rate: options.rate ?? 1000,
      seed: options.seed ?? 1,
      batchTicks: options.batchTicks ?? 0,
      startTime: options.startTime ?? Math.floor(Date.now() / 1000) * 1000,
      tradeShare: options.tradeShare ?? 0.4,
      numbers: options.numbers ?? 'number',
      faults: options.faults ?? [],
      apiKeys: options.apiKeys ?? [],
      pingIntervalMs: options.pingIntervalMs ?? 10_000,
      publishIntervalMs: options.publishIntervalMs ?? 10,
      maxClientBufferBytes: options.maxClientBufferBytes ?? 8 * 1024 * 1024,
      slowClient: options.slowClient ?? 'disconnect',
      historyTicks: options.historyTicks ?? 16_777_216,
    };
    this.market = new Market({
      symbols: this.symbols,
      rate: this.options.rate,
      seed: this.options.seed,
      startTime: this.options.startTime,
      tradeShare: this.options.tradeShare,
      maxCheckpoints: Math.ceil(this.options.historyTicks / 4096) + 1,
    });
    this.encoder = new TickEncoder(this.symbols, this.options.numbers);
    this.pending = [...this.options.faults].sort((a, b) => a.at - b.at);
    this.http = http;
    // Pongs are answered by hand so that a stalled client gets none.
    this.wss = new WebSocketServer({ noServer: true, autoPong: false, perMessageDeflate: false });
    const { port } = http.address() as AddressInfo;
    const host = (http.address() as AddressInfo).address;
    this.url = `ws://${host}:${port}/ws`;
    this.restUrl = `http://${host}:${port}`;
  }

  /** Start listening and publishing. */
  static async start(options: SimulatorOptions = {}): Promise<ExchangeSimulator> {
    const http = createServer();
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        http.off('error', reject);
        resolve();
      });
    });
    const sim = new ExchangeSimulator(http, options);
    sim.run();
    return sim;
  }

  private run(): void {
    this.http.on('request', (req, res) => this.handleHttp(req, res));
    this.http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/ws' || this.stopped) {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, socket));
    });
    this.startedAt = performance.now();
    this.publishTimer = setInterval(() => this.publish(), this.options.publishIntervalMs);
    if (this.options.pingIntervalMs > 0) {
      this.pingTimer = setInterval(() => this.pingAll(), this.options.pingIntervalMs);
    }
  }

  /** Stop publishing, close every client and the listener. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.publishTimer);
    clearInterval(this.pingTimer);
    for (const c of this.clients.values()) c.socket.destroy();
    this.clients.clear();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  /** Apply a fault now. */
  inject(fault: Fault): void {
    const checked = parseFault(fault);
    if (typeof checked === 'string') throw new RangeError(checked);
    this.faultCounts[fault.kind]++;
    const targets = (client?: number) =>
      [...this.clients.values()].filter((c) => client === undefined || c.id === client);
    switch (fault.kind) {
      case 'disconnect':
        for (const c of targets(fault.client)) {
          if (fault.mode === 'reset') c.socket.destroy();
          else c.ws.close(1012, 'service restart');
        }
        break;
      case 'stall': {
        const until = fault.ms === undefined ? Number.POSITIVE_INFINITY : performance.now() + fault.ms;
        for (const c of targets(fault.client)) c.stalledUntil = until;
        break;
      }
      case 'gap': {
        const symbol = fault.symbol === undefined ? -1 : this.symbols.indexOf(fault.symbol);
        if (fault.symbol !== undefined && symbol < 0) throw new RangeError(`unknown symbol ${fault.symbol}`);
        const channel = fault.channel === undefined ? -1 : fault.channel === 'trades' ? 0 : 1;
        this.gapRules.push({ count: fault.count ?? 1, symbol, channel });
        break;
      }
      case 'malformed':
        this.malformedLeft += fault.count ?? 1;
        break;
      case 'burst':
        // Picked up by the next publish cycle (at most publishIntervalMs later).
        this.burstTicks += fault.count ?? Math.ceil(this.options.rate);
        this.burstPending += fault.count ?? Math.ceil(this.options.rate);
        break;
      case 'oversize': {
        const frame = encodeTextFrame(`"${'x'.repeat(Math.max(0, fault.bytes - 2))}"`);
        for (const c of this.clients.values()) if (this.live(c)) this.write(c, frame, 1);
        break;
      }
    }
  }

  /** The subscriptions of a connected client (`channel:symbol`, sorted), or undefined. */
  subscriptions(clientId: number): string[] | undefined {
    const c = this.clients.get(clientId);
    return c ? this.subscriptionList(c) : undefined;
  }

  stats(): SimulatorStats {
    return {
      ticks: this.market.index,
      simulatedTime: this.market.tsOf(Math.max(0, this.market.index - 1)),
      connections: this.connections,
      clients: [...this.clients.values()].map((c) => ({
        id: c.id,
        subscriptions: this.subscriptionList(c),
        authed: c.authed,
        stalled: c.stalledUntil > performance.now(),
        messagesSent: c.messagesSent,
        bufferedBytes: c.socket.writableLength,
        maxBufferedBytes: c.maxBufferedBytes,
      })),
      ...this.counters,
      faults: { ...this.faultCounts },
      closeCodes: { ...this.closeCodes },
      gaps: this.gaps.slice(),
    };
  }

  private subscriptionList(c: Client): string[] {
    const out: string[] = [];
    for (let s = 0; s < this.symbols.length; s++) {
      if (c.mask[2 * s]) out.push(`trades:${this.symbols[s]}`);
      if (c.mask[2 * s + 1]) out.push(`quotes:${this.symbols[s]}`);
    }
    return out.sort();
  }

  private live(c: Client): boolean {
    return c.stalledUntil <= performance.now() && !c.socket.destroyed;
  }

  private accept(ws: WebSocket, socket: Socket): void {
    const c: Client = {
      id: this.nextClientId++,
      ws,
      socket,
      mask: new Uint8Array(2 * this.symbols.length),
      authed: this.options.apiKeys.length === 0,
      stalledUntil: 0,
      messagesSent: 0,
      maxBufferedBytes: 0,
    };
    this.connections++;
    this.clients.set(c.id, c);
    ws.on('ping', (data) => {
      if (this.live(c)) ws.pong(data);
    });
    ws.on('message', (data, isBinary) => {
      if (!this.live(c)) return;
      this.command(c, isBinary ? '' : data.toString());
    });
    ws.on('error', () => socket.destroy());
    ws.on('close', (code) => {
      this.clients.delete(c.id);
      this.closeCodes[code] = (this.closeCodes[code] ?? 0) + 1;
    });
  }

  private reply(c: Client, msg: unknown): void {
    c.ws.send(JSON.stringify(msg));
  }

  private command(c: Client, text: string): void {
    let msg: { op?: unknown; channel?: unknown; symbols?: unknown; key?: unknown };
    try {
      msg = JSON.parse(text);
    } catch {
      this.reply(c, { type: 'error', message: 'expected a JSON object' });
      return;
    }
    if (typeof msg !== 'object' || msg === null) {
      this.reply(c, { type: 'error', message: 'expected a JSON object' });
      return;
    }
    if (msg.op === 'ping') {
      this.reply(c, { type: 'pong' });
      return;
    }
    if (msg.op === 'auth') {
      const ok = this.options.apiKeys.length === 0 || this.options.apiKeys.includes(String(msg.key));
      this.reply(c, { type: 'auth', ok });
      if (ok) c.authed = true;
      else c.ws.close(1008, 'invalid key');
      return;
    }
    if (msg.op !== 'subscribe' && msg.op !== 'unsubscribe') {
      this.reply(c, { type: 'error', message: 'op must be auth, subscribe, unsubscribe or ping' });
      return;
    }
    if (!c.authed) {
      this.reply(c, { type: 'error', code: 'unauthorized', message: 'send {op:"auth", key} first' });
      return;
    }
    if (msg.channel !== 'trades' && msg.channel !== 'quotes') {
      this.reply(c, { type: 'error', message: 'channel must be trades or quotes' });
      return;
    }
    if (!Array.isArray(msg.symbols) || msg.symbols.length === 0) {
      this.reply(c, { type: 'error', message: 'symbols must be a non-empty list' });
      return;
    }
    const names = msg.symbols.includes('*') ? this.symbols : (msg.symbols as unknown[]).map(String);
    const unknown = names.filter((s) => !this.symbols.includes(s));
    if (unknown.length > 0) {
      this.reply(c, { type: 'error', message: `unknown symbols: ${unknown.join(', ')}` });
      return;
    }
    const offset = msg.channel === 'trades' ? 0 : 1;
    for (const name of names)
      c.mask[2 * this.symbols.indexOf(name) + offset] = msg.op === 'subscribe' ? 1 : 0;
    this.reply(c, {
      type: msg.op === 'subscribe' ? 'subscribed' : 'unsubscribed',
      channel: msg.channel,
      symbols: names,
    });
  }

  private pingAll(): void {
    for (const c of this.clients.values()) if (this.live(c) && c.ws.readyState === c.ws.OPEN) c.ws.ping();
  }

  /** Write bytes carrying `messages` messages to a client, applying the slow-client policy. */
  private write(c: Client, bytes: Buffer, messages: number): void {
    const buffered = c.socket.writableLength;
    if (buffered > this.options.maxClientBufferBytes) {
      if (this.options.slowClient === 'disconnect') {
        this.counters.slowClientDisconnects++;
        c.socket.destroy();
        this.clients.delete(c.id);
      } else {
        this.counters.slowClientDroppedMessages += messages;
      }
      return;
    }
    c.socket.write(bytes);
    c.messagesSent += messages;
    this.counters.messagesSent += messages;
    this.counters.bytesSent += bytes.length;
    const after = c.socket.writableLength;
    if (after > c.maxBufferedBytes) c.maxBufferedBytes = after;
    if (after > this.counters.peakClientBufferedBytes) this.counters.peakClientBufferedBytes = after;
  }

  /** Whether a gap rule withholds this tick (and consume it). */
  private withheld(t: Tick): boolean {
    const channel = t.kind === TRADE ? 0 : 1;
    for (let r = 0; r < this.gapRules.length; r++) {
      const rule = this.gapRules[r];
      if ((rule.symbol >= 0 && rule.symbol !== t.symbol) || (rule.channel >= 0 && rule.channel !== channel))
        continue;
      rule.count--;
      if (rule.count === 0) this.gapRules.splice(r, 1);
      this.counters.gapTicks++;
      if (this.gaps.length < MAX_GAP_RECORDS) {
        this.gaps.push({
          symbol: this.symbols[t.symbol],
          channel: channel === 0 ? 'trades' : 'quotes',
          seq: t.seq,
        });
      }
      return true;
    }
    return false;
  }

  private applyScheduledFaults(ts: number): void {
    while (this.pending.length > 0 && this.options.startTime + this.pending[0].at <= ts) {
      const { at: _at, ...fault } = this.pending.shift()!;
      this.inject(fault as Fault);
    }
  }

  /** Generate the ticks due by now and send each client its share. */
  private publish(): void {
    if (this.stopped) return;
    const elapsed = performance.now() - this.startedAt;
    const due = Math.floor((elapsed * this.options.rate) / 1000) + this.burstTicks;
    // At most 50 ms of ticks per cycle (plus any burst). A machine that cannot keep up with the
    // rate gets a slower feed, not bursts: past half a second of backlog the debt is written off
    // (simulated time, which counts ticks, falls behind the wall clock).
    const cap = Math.ceil(this.options.rate / 20) + this.burstPending;
    const backlog = due - this.market.index;
    if (backlog > cap + this.options.rate / 2) {
      this.startedAt += ((backlog - cap) * 1000) / this.options.rate;
      this.counters.lagTicks += backlog - cap;
    }
    const count = Math.min(backlog, cap);
    if (count <= 0) return;
    this.burstPending = Math.max(0, this.burstPending - count);
    const texts: string[] = [];
    const keys: number[] = [];
    for (let i = 0; i < count; i++) {
      const t = this.market.next(this.tick);
      if (this.pending.length > 0) this.applyScheduledFaults(t.ts);
      if (this.gapRules.length > 0 && this.withheld(t)) continue;
      let text = this.encoder.encode(t);
      if (this.malformedLeft > 0) {
        this.malformedLeft--;
        this.counters.malformedSent++;
        text = text.slice(0, text.length >> 1);
      }
      texts.push(text);
      keys.push(2 * t.symbol + (t.kind === TRADE ? 0 : 1));
    }
    if (this.clients.size === 0 || texts.length === 0) return;
    if (this.options.batchTicks > 0) this.sendBatched(texts, keys);
    else this.sendSingle(texts, keys);
  }

  private sendSingle(texts: string[], keys: number[]): void {
    const n = texts.length;
    const lengths = new Int32Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const len = Buffer.byteLength(texts[i]);
      lengths[i] = len;
      total += frameHeaderLength(len) + len;
    }
    const shared = Buffer.allocUnsafe(total);
    const starts = new Int32Array(n + 1);
    let at = 0;
    for (let i = 0; i < n; i++) {
      starts[i] = at;
      at = writeTextFrameHeader(shared, at, lengths[i]);
      at += shared.write(texts[i], at);
    }
    starts[n] = at;
    for (const c of [...this.clients.values()]) {
      if (!this.live(c)) continue;
      let selected = 0;
      for (let i = 0; i < n; i++) selected += c.mask[keys[i]];
      if (selected === 0) continue;
      if (selected === n) {
        this.write(c, shared, n);
        continue;
      }
      const parts: Buffer[] = [];
      for (let i = 0; i < n; i++) if (c.mask[keys[i]]) parts.push(shared.subarray(starts[i], starts[i + 1]));
      this.write(c, Buffer.concat(parts), selected);
    }
  }

  private sendBatched(texts: string[], keys: number[]): void {
    const size = this.options.batchTicks;
    for (const c of [...this.clients.values()]) {
      if (!this.live(c)) continue;
      const frames: string[] = [];
      let chunk: string[] = [];
      let selected = 0;
      for (let i = 0; i < texts.length; i++) {
        if (!c.mask[keys[i]]) continue;
        selected++;
        chunk.push(texts[i]);
        if (chunk.length === size) {
          frames.push(`[${chunk.join(',')}]`);
          chunk = [];
        }
      }
      if (chunk.length > 0) frames.push(`[${chunk.join(',')}]`);
      if (frames.length === 0) continue;
      const parts = frames.map(encodeTextFrame);
      this.write(c, parts.length === 1 ? parts[0] : Buffer.concat(parts), selected);
    }
  }

  private handleHttp(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    try {
      if (req.method === 'GET' && url.pathname === '/api/v1/trades') {
        send(200, tradesPage(this.market, this.market.index, url.searchParams));
      } else if (req.method === 'GET' && url.pathname === '/api/v1/klines') {
        send(200, klinesPage(this.market, this.market.index, url.searchParams));
      } else if (req.method === 'GET' && url.pathname === '/control/stats') {
        send(200, this.stats());
      } else if (req.method === 'POST' && url.pathname === '/control/fault') {
        const chunks: Buffer[] = [];
        let size = 0;
        req.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= 64 * 1024) chunks.push(chunk);
        });
        req.on('end', () => {
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString());
          } catch {
            send(400, { error: 'body must be JSON' });
            return;
          }
          const fault = parseFault(body);
          if (typeof fault === 'string') {
            send(400, { error: fault });
            return;
          }
          try {
            this.inject(fault);
            send(200, { ok: true });
          } catch (err) {
            send(400, { error: (err as Error).message });
          }
        });
      } else {
        send(404, { error: `no route ${req.method} ${url.pathname}` });
      }
    } catch (err) {
      if (err instanceof RestError) send(err.status, { error: err.message });
      else if (err instanceof HistoryGoneError) send(410, { error: err.message });
      else send(500, { error: 'internal error' });
    }
  }
}
