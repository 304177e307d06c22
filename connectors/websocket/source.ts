/**
 * `websocket` source: a market-data feed over WebSocket (RFC 6455, the `ws` package).
 *
 * - On every connect it sends `open_messages` in order (auth first, then subscriptions), so a
 *   reconnect restores the same subscriptions.
 * - Liveness: a protocol ping every `heartbeat.interval` (plus the optional app-level
 *   `heartbeat.message`); when a ping has had no pong and no data for `heartbeat.timeout`, the
 *   socket is `terminate()`d and the source reconnects. A silent (half-open) feed is thus found
 *   within `interval + timeout` of going quiet.
 * - Reconnects wait a capped exponential backoff with full jitter (`pipeline/retry.ts`); the
 *   backoff resets once a connection delivers its first message.
 * - `sequence`: gap detection per scope (see `sequence.ts`); gaps become `{kind: 'gap'}` events,
 *   and with `on_gap: reconnect` the source also drops the connection and reconnects, which
 *   resubscribes: the resync a venue asks for after a gap (a snapshot, where it sends one).
 *   A new connection starts a new sequence space by default (`across_reconnects: reset`): venues
 *   usually restart numbering per session, and messages missed while disconnected are not a gap
 *   in the new session. With `continue`, numbering is checked across reconnects and the outage
 *   shows up as a gap (for feeds whose numbers are global, like the built-in simulator's).
 * - `stale_after`: no data for that long gives one `{kind: 'stale'}` event per silent spell.
 * - Flow control is `pausable`: `pause()` stops reading the socket (`ws.pause()`), so TCP
 *   backpressure reaches the sender. While paused the heartbeat deadline and the stale timer are
 *   suspended (pongs cannot be read either).
 * - Acks: a WebSocket feed cannot replay, so every envelope shares one handle that only counts
 *   delivered (acked) messages; a nack is counted and reported as a `dropped` event, because the
 *   message cannot come back. Recovery after a gap or an outage is a resubscribe (and a REST
 *   snapshot where the venue has one), not a redelivery.
 */
import { type SchedulerAction, Subscription } from 'rxjs';
import WebSocket from 'ws';
import { z } from 'zod';
import { zBytes, zDurationMs, zSourceCommon } from '../../config/common.ts';
import type { SourceSpec } from '../../config/registry.ts';
import type { AckHandle } from '../../pipeline/acks.ts';
import { Backoff, type Random } from '../../pipeline/retry.ts';
import type { Clock, ComponentContext, Envelope, Logger, Source, SourceEvent } from '../../pipeline/types.ts';
import { SequenceTracker } from './sequence.ts';

const zJsonValue = z.json().describe('Any JSON value');

export const websocketConfig = z.strictObject({
  url: z
    .string()
    .regex(/^wss?:\/\/[^\s]+$/, 'expected a ws:// or wss:// URL')
    .describe('Feed address, ws:// or wss://'),
  open_messages: z
    .array(zJsonValue)
    .default([])
    .describe('JSON messages sent in order on every connect (auth first, then subscriptions)'),
  headers: z
    .record(z.string(), z.string())
    .default({})
    .describe('HTTP headers of the opening handshake (e.g. an API key header)'),
  heartbeat: z
    .strictObject({
      interval: zDurationMs.default(10_000).describe('Send a protocol ping this often'),
      timeout: zDurationMs
        .default(5_000)
        .describe('A ping with no pong and no data for this long means the connection is dead'),
      message: zJsonValue
        .optional()
        .describe('App-level ping sent with each protocol ping, for venues that expect one'),
    })
    .default({ interval: 10_000, timeout: 5_000 })
    .describe('Dead-peer detection: ping, and terminate + reconnect when nothing comes back'),
  reconnect: z
    .strictObject({
      base: zDurationMs.default(500).describe('First backoff window; it doubles per failed attempt'),
      cap: zDurationMs.default(30_000).describe('Largest backoff window'),
    })
    .default({ base: 500, cap: 30_000 })
    .refine((r) => r.cap >= r.base, { message: 'reconnect.cap must be at least reconnect.base' })
    .describe('Reconnect backoff: full jitter over min(cap, base*2^n), never below base/2'),
  max_payload: zBytes
    .default(16 * 1024 * 1024)
    .describe('Largest message accepted; a bigger one closes the connection with 1009 and reconnects'),
  sequence: z
    .strictObject({
      field: z.string().min(1).describe('Field holding the sequence number, e.g. seq'),
      scope: z
        .union([z.literal('global'), z.string().min(1), z.array(z.string().min(1)).min(1)])
        .default('global')
        .describe('global (one sequence) or the key field(s) with a sequence each, e.g. symbol'),
      across_reconnects: z
        .enum(['reset', 'continue'])
        .default('reset')
        .describe('reset: each connection starts a new sequence; continue: check across reconnects'),
      on_gap: z
        .enum(['report', 'reconnect'])
        .default('report')
        .describe('report: count and report gaps; reconnect: also reconnect, which resubscribes (a resync)'),
    })
    .optional()
    .describe('Sequence-gap detection; gaps are counted and reported'),
  stale_after: zDurationMs.optional().describe('Report the feed as stale after this long without a message'),
  ...zSourceCommon,
});
export type WebsocketConfig = z.output<typeof websocketConfig>;

/** What the source needs from its context (the full ComponentContext satisfies it). */
export type WebsocketContext = Pick<ComponentContext, 'name' | 'clock' | 'logger'>;

export interface WebsocketStats {
  /** Connections opened so far. */
  connections: number;
  messages: number;
  /** Messages acked downstream (the delivered count). */
  delivered: number;
  /** Messages nacked downstream: lost, since the feed cannot replay. */
  nacked: number;
  gaps: number;
  missing: number;
  outOfOrder: number;
  heartbeatTimeouts: number;
  staleEvents: number;
  reconnects: number;
}

/** The shared ack handle of a feed that cannot replay: it counts, nothing more. */
class DeliveryCounter implements AckHandle {
  delivered = 0;
  nacked = 0;
  private pendingNacks = 0;
  private readonly report: (count: number, reason: string) => void;
  private lastReason = '';

  constructor(report: (count: number, reason: string) => void) {
    this.report = report;
  }

  ack(): void {
    this.delivered++;
  }

  nack(reason: Error): void {
    this.nacked++;
    // A nacked batch calls this once per row: report them together.
    if (this.pendingNacks++ === 0) {
      this.lastReason = reason.message;
      queueMicrotask(() => {
        const n = this.pendingNacks;
        this.pendingNacks = 0;
        this.report(n, `nacked and not replayable (websocket feed): ${this.lastReason}`);
      });
    }
  }
}

function noop(): void {}

/**
 * An envelope whose `position` text is built only when read (dead letters, logs): turning the
 * message number into text for every message would cost more than the rest of the source's work.
 */
class WsEnvelope implements Envelope {
  readonly payload: string | Uint8Array;
  readonly receivedAt: number;
  readonly ack: AckHandle;
  private readonly prefix: string;
  private readonly k: number;

  constructor(payload: string | Uint8Array, receivedAt: number, ack: AckHandle, prefix: string, k: number) {
    this.payload = payload;
    this.receivedAt = receivedAt;
    this.ack = ack;
    this.prefix = prefix;
    this.k = k;
  }

  get position(): string {
    return this.prefix + this.k;
  }
}

/** `wss://user:pw@host/path?key=k` → `wss://host/path`: what may be shown in logs and dead letters. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

export class WebsocketSource implements Source {
  readonly flowControl = 'pausable' as const;
  private readonly config: WebsocketConfig;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly name: string;
  private readonly backoff: Backoff;
  private readonly acks: DeliveryCounter;
  private readonly sequence: SequenceTracker | undefined;
  private readonly resetSequence: boolean;
  private readonly openTexts: string[];
  private readonly heartbeatText: string | undefined;
  private emitFn: (env: Envelope) => void = noop;
  private eventFn: (e: SourceEvent) => void = noop;
  private ws: WebSocket | undefined;
  /** The socket of the attempt in progress (before `open`), so stop() can abort it. */
  private connecting: WebSocket | undefined;
  private conn = 0;
  private msg = 0;
  private paused = false;
  private stopping = false;
  private started = false;
  private lastSeen = 0;
  private lastData = 0;
  private staleReported = false;
  private connTimers = new Subscription();
  private readonly timers = new Subscription();
  private readonly counters = { messages: 0, heartbeatTimeouts: 0, staleEvents: 0, reconnects: 0 };
  private prefix = '';
  /** The URL without credentials or query (which often holds an API key), for positions. */
  private readonly displayUrl: string;
  /** Why this source ended the current connection itself (added to the disconnect reason). */
  private killedBy = '';
  /** A gap asked for a resync: the connection ends after the current message. */
  private resync = false;

  constructor(config: WebsocketConfig, ctx: WebsocketContext, random?: Random) {
    this.config = config;
    this.displayUrl = displayUrl(config.url);
    this.clock = ctx.clock;
    this.logger = ctx.logger;
    this.name = ctx.name;
    this.backoff = new Backoff({ baseMs: config.reconnect.base, capMs: config.reconnect.cap }, random);
    this.acks = new DeliveryCounter((count, reason) => this.eventFn({ kind: 'dropped', count, reason }));
    const seq = config.sequence;
    this.sequence = seq
      ? new SequenceTracker(seq.field, seq.scope === 'global' ? 'global' : [seq.scope].flat(), (gap) => {
          this.eventFn({ kind: 'gap', ...gap });
          if (seq.on_gap === 'reconnect') this.resync = true;
        })
      : undefined;
    this.resetSequence = seq?.across_reconnects !== 'continue';
    this.openTexts = config.open_messages.map((m) => JSON.stringify(m));
    this.heartbeatText =
      config.heartbeat.message === undefined ? undefined : JSON.stringify(config.heartbeat.message);
  }

  /** Connect; resolves once the first attempt has opened or failed (reconnects go on after). */
  start(emit: (env: Envelope) => void, event: (e: SourceEvent) => void): Promise<void> {
    if (this.started) return Promise.reject(new Error(`websocket source ${this.name} already started`));
    this.started = true;
    this.emitFn = emit;
    this.eventFn = event;
    this.lastData = this.clock.now();
    if (this.config.stale_after !== undefined) this.startStaleTimer(this.config.stale_after);
    return new Promise<void>((resolve) => this.connect(resolve));
  }

  pause(): void {
    this.paused = true;
    this.ws?.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    // Deadlines restart: nothing could be read while paused.
    const now = this.clock.now();
    this.lastSeen = now;
    this.lastData = now;
    this.ws?.resume();
  }

  isConnected(): boolean {
    return this.ws !== undefined && this.ws.readyState === WebSocket.OPEN;
  }

  stats(): WebsocketStats {
    const seq = this.sequence?.stats;
    return {
      connections: this.conn,
      messages: this.counters.messages,
      delivered: this.acks.delivered,
      nacked: this.acks.nacked,
      gaps: seq?.gaps ?? 0,
      missing: seq?.missing ?? 0,
      outOfOrder: seq?.outOfOrder ?? 0,
      heartbeatTimeouts: this.counters.heartbeatTimeouts,
      staleEvents: this.counters.staleEvents,
      reconnects: this.counters.reconnects,
    };
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.emitFn = noop;
    this.timers.unsubscribe();
    this.connTimers.unsubscribe();
    this.connecting?.terminate();
    this.connecting = undefined;
    const ws = this.ws;
    this.ws = undefined;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => ws.terminate(), 1000);
      ws.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'source stopped');
    });
  }

  private connect(settled: () => void = noop): void {
    if (this.stopping) {
      settled();
      return;
    }
    const n = ++this.conn;
    const { heartbeat } = this.config;
    const ws = new WebSocket(this.config.url, {
      headers: this.config.headers,
      maxPayload: this.config.max_payload,
      handshakeTimeout: heartbeat.interval + heartbeat.timeout,
      // A peer that never completes the closing handshake (after a 1009, say) must not hold the
      // reconnect for ws's default 30 s.
      closeTimeout: heartbeat.timeout,
    } as WebSocket.ClientOptions);
    this.connecting = ws;
    let lastError = '';
    let opened = false;
    ws.on('open', () => {
      if (this.stopping) {
        ws.terminate();
        return;
      }
      opened = true;
      this.connecting = undefined;
      this.ws = ws;
      this.msg = 0;
      this.prefix = `ws ${this.displayUrl} conn=${n} msg=`;
      if (this.resetSequence) this.sequence?.reset();
      this.lastSeen = this.clock.now();
      for (const text of this.openTexts) ws.send(text);
      if (this.paused) ws.pause();
      this.startHeartbeat(ws);
      this.eventFn({ kind: 'connected' });
      settled();
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('pong', () => {
      this.lastSeen = this.clock.now();
    });
    ws.on('error', (err: Error & { code?: string }) => {
      lastError = err.code ? `${err.code}: ${err.message}` : err.message;
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (this.ws === ws) this.ws = undefined;
      if (this.connecting === ws) this.connecting = undefined;
      this.connTimers.unsubscribe();
      this.connTimers = new Subscription();
      settled();
      if (this.stopping) return;
      const why = [opened ? `close ${code}` : 'connect failed', reason.toString(), lastError, this.killedBy]
        .filter((s) => s !== '')
        .join(' ');
      this.killedBy = '';
      this.logger.debug('websocket closed', { source: this.name, conn: n, reason: why });
      this.eventFn({ kind: 'disconnected', reason: why });
      this.scheduleReconnect();
    });
  }

  /**
   * The clock read once per event-loop turn: `ws` delivers every message of a socket read in one
   * synchronous run, and a clock call per message costs about as much as the rest of this method.
   */
  private turnNow(): number {
    if (this.turnClock < 0) {
      this.turnClock = this.clock.now();
      queueMicrotask(this.endTurn);
    }
    return this.turnClock;
  }

  private turnClock = -1;
  private readonly endTurn = (): void => {
    this.turnClock = -1;
  };

  private onMessage(data: Buffer, isBinary: boolean): void {
    const now = this.turnNow();
    this.lastSeen = now;
    this.lastData = now;
    this.staleReported = false;
    const k = ++this.msg;
    this.counters.messages++;
    if (k === 1) this.backoff.reset();
    let payload: string | Uint8Array;
    if (isBinary) payload = data;
    else {
      const text = data.toString();
      if (this.sequence !== undefined) this.sequence.observe(text);
      payload = text;
    }
    this.emitFn(new WsEnvelope(payload, now, this.acks, this.prefix, k));
    if (this.resync) this.restartForResync();
  }

  private restartForResync(): void {
    this.resync = false;
    const ws = this.ws;
    if (!ws) return;
    // Nothing more from this connection: a fresh one resubscribes and restarts the sequences.
    ws.pause();
    this.ws = undefined;
    this.killedBy = 'sequence gap: reconnecting to resync';
    ws.terminate();
  }

  private scheduleReconnect(): void {
    const delayMs = Math.round(this.backoff.next());
    this.counters.reconnects++;
    this.eventFn({ kind: 'reconnecting', attempt: this.backoff.attempt, delayMs });
    const timer = this.clock.scheduler.schedule(() => {
      this.timers.remove(timer);
      this.connect();
    }, delayMs);
    this.timers.add(timer);
  }

  private startHeartbeat(ws: WebSocket): void {
    const { interval, timeout } = this.config.heartbeat;
    const source = this;
    this.connTimers.add(
      this.clock.scheduler.schedule(function (this: SchedulerAction<unknown>) {
        source.ping(ws, timeout);
        this.schedule(undefined, interval);
      }, interval),
    );
  }

  private ping(ws: WebSocket, timeout: number): void {
    if (ws !== this.ws || ws.readyState !== WebSocket.OPEN || this.paused) return;
    const sentAt = this.clock.now();
    ws.ping();
    if (this.heartbeatText !== undefined) ws.send(this.heartbeatText);
    const check = this.clock.scheduler.schedule(() => {
      this.connTimers.remove(check);
      if (ws !== this.ws || this.paused || this.lastSeen >= sentAt) return;
      this.counters.heartbeatTimeouts++;
      this.killedBy = `heartbeat timeout (no pong or data ${timeout} ms after a ping)`;
      ws.terminate();
    }, timeout);
    // Removed again when it runs, so a long-lived connection does not collect finished timers.
    this.connTimers.add(check);
  }

  private startStaleTimer(staleAfter: number): void {
    const source = this;
    const period = Math.max(10, Math.min(1000, staleAfter / 4));
    this.timers.add(
      this.clock.scheduler.schedule(function (this: SchedulerAction<unknown>) {
        source.checkStale(staleAfter);
        this.schedule(undefined, period);
      }, period),
    );
  }

  private checkStale(staleAfter: number): void {
    if (this.paused || this.staleReported) return;
    const silentMs = this.clock.now() - this.lastData;
    if (silentMs < staleAfter) return;
    this.staleReported = true;
    this.counters.staleEvents++;
    this.eventFn({ kind: 'stale', silentMs });
  }
}

export const websocketSource: SourceSpec<WebsocketConfig> = {
  kind: 'source',
  name: 'websocket',
  summary:
    'Market-data feed over WebSocket: subscribe on connect, heartbeat, reconnect with jittered backoff, sequence-gap detection, pausable.',
  stability: 'beta',
  config: websocketConfig,
  examples: [
    {
      title: 'Trades from the built-in simulator, gaps checked per symbol',
      yaml: `url: ws://127.0.0.1:8765/ws
open_messages:
  - { op: subscribe, channel: trades, symbols: [BTC-USD, ETH-USD] }
heartbeat: { interval: 10s, timeout: 5s }
sequence: { field: seq, scope: symbol }
stale_after: 30s
decode: { format: json, timestamp: { field: ts, unit: ms } }
schema: { ts: timestamp, symbol: symbol, price: f64, size: f64 }
batch: { count: 10000, bytes: 4MiB, period: 100ms }
`,
    },
    {
      title: 'Authenticated feed with an app-level ping and a tighter reconnect',
      yaml: `url: wss://127.0.0.1:8443/ws
headers: { X-Api-Key: "\${FEED_KEY}" }
open_messages:
  - { op: auth, key: "\${FEED_KEY}" }
  - { op: subscribe, channel: quotes, symbols: ['*'] }
heartbeat: { interval: 5s, timeout: 3s, message: { op: ping } }
reconnect: { base: 200ms, cap: 10s }
max_payload: 1MiB
sequence: { field: seq, scope: [type, symbol], across_reconnects: continue }
schema: { ts: timestamp, symbol: symbol, bid: f64, ask: f64 }
`,
    },
  ],
  create: (config, ctx) => new WebsocketSource(config, ctx),
};
