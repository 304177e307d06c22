import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { asyncScheduler } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { Registry } from '../../config/registry.ts';
import { VirtualClock } from '../../pipeline/clock.ts';
import { seededRandom } from '../../pipeline/retry.ts';
import type { Envelope, Logger, SourceEvent } from '../../pipeline/types.ts';
import { ExchangeSimulator, type SimulatorOptions } from '../../simulator/index.ts';
import { register } from './index.ts';
import {
  displayUrl,
  type WebsocketConfig,
  WebsocketSource,
  websocketConfig,
  websocketSource,
} from './source.ts';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const sims: ExchangeSimulator[] = [];
const sources: WebsocketSource[] = [];

afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

async function simulator(options: SimulatorOptions): Promise<ExchangeSimulator> {
  const s = await ExchangeSimulator.start({ startTime: 1_700_000_000_000, pingIntervalMs: 0, ...options });
  sims.push(s);
  return s;
}

const SUBSCRIBE_ALL = [
  { op: 'subscribe', channel: 'trades', symbols: ['*'] },
  { op: 'subscribe', channel: 'quotes', symbols: ['*'] },
];

function config(fields: Record<string, unknown>): WebsocketConfig {
  return websocketConfig.parse({
    schema: { ts: 'timestamp' },
    reconnect: { base: '20ms', cap: '100ms' },
    ...fields,
  });
}

/** A started source with everything it emitted recorded. */
async function run(fields: Record<string, unknown>, now: () => number = Date.now) {
  const source = new WebsocketSource(
    config(fields),
    { name: 'feed', clock: { now, scheduler: asyncScheduler }, logger: quiet },
    seededRandom(3),
  );
  sources.push(source);
  const envelopes: Envelope[] = [];
  const events: (SourceEvent & { at: number })[] = [];
  await source.start(
    (env) => envelopes.push(env),
    (e) => events.push({ ...e, at: performance.now() }),
  );
  return { source, envelopes, events };
}

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const dataCount = (envs: Envelope[]) => envs.filter((e) => (e.payload as string).includes('"seq"')).length;

describe('websocket spec', () => {
  it('parses with defaults, rejects unknown keys, describes every field and parses its examples', () => {
    const c = websocketConfig.parse({ url: 'ws://h:1/ws', schema: { ts: 'timestamp' } });
    expect(c).toMatchObject({
      open_messages: [],
      headers: {},
      heartbeat: { interval: 10_000, timeout: 5_000 },
      reconnect: { base: 500, cap: 30_000 },
      max_payload: 16 * 1024 * 1024,
    });
    expect(websocketConfig.safeParse({ url: 'ws://h/ws', schema: {}, max_inflight: 1 }).success).toBe(false);
    expect(websocketConfig.safeParse({ url: 'http://h/ws', schema: {} }).success).toBe(false);
    expect(
      websocketConfig.safeParse({ url: 'ws://h/ws', schema: {}, reconnect: { base: '2s', cap: '1s' } })
        .success,
    ).toBe(false);
    const json = z.toJSONSchema(websocketConfig, { io: 'input', unrepresentable: 'any' }) as {
      properties: Record<
        string,
        { description?: string; properties?: Record<string, { description?: string }> }
      >;
    };
    for (const [key, prop] of Object.entries(json.properties)) {
      expect(prop.description, key).toBeTruthy();
      for (const [sub, p] of Object.entries(prop.properties ?? {}))
        expect(p.description, `${key}.${sub}`).toBeTruthy();
    }
    for (const example of websocketSource.examples ?? []) {
      const text = example.yaml
        .replace(/\$\{FEED_URL\}/g, 'wss://feed.example/ws')
        .replace(/\$\{FEED_KEY\}/g, 'k');
      expect(websocketConfig.safeParse(parseYaml(text)).success, example.title).toBe(true);
    }
    const registry = new Registry();
    register(registry);
    expect(registry.source('websocket')).toBe(websocketSource);
  });

  it('keeps credentials and query strings out of positions', () => {
    expect(displayUrl('wss://user:SECRET_CANARY@feed.example:9443/ws/v2?apikey=SECRET_CANARY')).toBe(
      'wss://feed.example:9443/ws/v2',
    );
  });

  it('uses ws >= 8.21.0 (maxPayload and close-handling fixes)', () => {
    const pkg = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../node_modules/ws/package.json', import.meta.url)), 'utf8'),
    ) as { version: string };
    const [major, minor] = pkg.version.split('.').map(Number);
    expect(major > 8 || (major === 8 && minor >= 21)).toBe(true);
  });
});

describe('websocket source against the simulator', () => {
  it('emits text frames with position, injected receive time and a counting ack', async () => {
    const sim = await simulator({ rate: 2000 });
    let t = 5_000;
    const { source, envelopes, events } = await run(
      { url: sim.url, open_messages: SUBSCRIBE_ALL },
      () => t++,
    );
    await until(() => envelopes.length > 50);
    expect(source.isConnected()).toBe(true);
    expect(events[0].kind).toBe('connected');
    expect(JSON.parse(envelopes[0].payload as string)).toMatchObject({ type: 'subscribed' });
    expect(envelopes[2].position).toBe(`ws ${sim.url} conn=1 msg=3`);
    expect(envelopes[2].receivedAt).toBeGreaterThanOrEqual(5_000);
    // The clock is read once per event-loop turn: messages of one socket read share a time.
    expect(envelopes[3].receivedAt).toBeGreaterThanOrEqual(envelopes[2].receivedAt);
    expect(envelopes.at(-1)!.receivedAt).toBeLessThan(t);
    expect(envelopes[1].ack).toBe(envelopes[2].ack);
    envelopes[1].ack.ack();
    envelopes[2].ack.ack();
    for (let i = 3; i < 8; i++) envelopes[i].ack.nack(new Error('sink failed'));
    await until(() => events.some((e) => e.kind === 'dropped'));
    expect(events.find((e) => e.kind === 'dropped')).toMatchObject({ kind: 'dropped', count: 5 });
    expect(source.stats()).toMatchObject({ delivered: 2, nacked: 5, connections: 1 });
    await source.stop();
    const n = envelopes.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(envelopes.length).toBe(n);
    expect(source.isConnected()).toBe(false);
  });

  it('reconnects after a disconnect and resubscribes to exactly the same set', async () => {
    const sim = await simulator({ rate: 2000 });
    const opens = [
      { op: 'subscribe', channel: 'trades', symbols: ['BTC-USD', 'ETH-USD'] },
      { op: 'subscribe', channel: 'quotes', symbols: ['SOL-USD'] },
    ];
    const { source, envelopes, events } = await run({ url: sim.url, open_messages: opens });
    await until(() => sim.stats().clients[0]?.subscriptions.length === 3);
    const before = sim.stats().clients[0].subscriptions;
    sim.inject({ kind: 'disconnect', mode: 'reset' });
    await until(() => events.filter((e) => e.kind === 'connected').length === 2);
    await until(() => sim.stats().clients[0]?.subscriptions.length === 3);
    expect(sim.stats().clients[0].subscriptions).toEqual(before);
    expect(before).toEqual(['quotes:SOL-USD', 'trades:BTC-USD', 'trades:ETH-USD']);
    expect(events.map((e) => e.kind).slice(0, 4)).toEqual([
      'connected',
      'disconnected',
      'reconnecting',
      'connected',
    ]);
    const n = envelopes.length;
    await until(() => envelopes.length > n + 20 && envelopes.at(-1)!.position.includes('conn=2'));
    expect(source.stats().connections).toBe(2);
  });

  it('detects a silent stall by heartbeat within interval + timeout, terminates and reconnects', async () => {
    const sim = await simulator({ rate: 1000 });
    const { source, envelopes, events } = await run({
      url: sim.url,
      open_messages: SUBSCRIBE_ALL,
      heartbeat: { interval: '100ms', timeout: '200ms' },
    });
    await until(() => envelopes.length > 20);
    const stalledAt = performance.now();
    sim.inject({ kind: 'stall' });
    await until(() => events.some((e) => e.kind === 'disconnected'), 3000);
    const detectedAt = events.find((e) => e.kind === 'disconnected')!.at;
    // Worst case: silence starts just after a pong, the next ping is `interval` later, then `timeout`.
    expect(detectedAt - stalledAt).toBeLessThan(100 + 200 + 400);
    expect(source.stats().heartbeatTimeouts).toBe(1);
    expect((events.find((e) => e.kind === 'disconnected') as { reason: string }).reason).toContain(
      'heartbeat timeout',
    );
    await until(() => events.filter((e) => e.kind === 'connected').length === 2);
    const n = dataCount(envelopes);
    await until(() => dataCount(envelopes) > n + 10);
  });

  it('runs heartbeat deadlines and reconnect delays on the injected clock', async () => {
    const sim = await simulator({ rate: 500 });
    const clock = new VirtualClock(1_000_000);
    const source = new WebsocketSource(
      config({ url: sim.url, open_messages: SUBSCRIBE_ALL, heartbeat: { interval: '10s', timeout: '5s' } }),
      { name: 'feed', clock, logger: quiet },
      seededRandom(5),
    );
    sources.push(source);
    const events: SourceEvent[] = [];
    const envelopes: Envelope[] = [];
    await source.start(
      (e) => envelopes.push(e),
      (e) => events.push(e),
    );
    await until(() => envelopes.length > 5);
    expect(envelopes[0].receivedAt).toBe(1_000_000);
    sim.inject({ kind: 'stall' });
    // Let in-flight frames land, then nothing arrives: 10 s to the ping, 5 s without an answer.
    await new Promise((r) => setTimeout(r, 30));
    clock.advance(10_000);
    clock.advance(4_999);
    await new Promise((r) => setTimeout(r, 30));
    expect(events.map((e) => e.kind)).toEqual(['connected']);
    clock.advance(1);
    await until(() => events.some((e) => e.kind === 'reconnecting'));
    expect(events.map((e) => e.kind)).toEqual(['connected', 'disconnected', 'reconnecting']);
    const { delayMs } = events[2] as { delayMs: number };
    expect(delayMs).toBeGreaterThanOrEqual(10);
    expect(delayMs).toBeLessThanOrEqual(20);
    clock.advance(delayMs - 1);
    await new Promise((r) => setTimeout(r, 30));
    expect(sim.stats().connections).toBe(1);
    clock.advance(1);
    await until(() => events.filter((e) => e.kind === 'connected').length === 2);
    expect(sim.stats().connections).toBe(2);
  });

  it('finds every injected gap (100 % recall, 0 false positives), also in 50-tick arrays', async () => {
    const sim = await simulator({ rate: 3000, seed: 8, batchTicks: 50 });
    const { source, envelopes, events } = await run({
      url: sim.url,
      open_messages: SUBSCRIBE_ALL,
      sequence: { field: 'seq', scope: ['type', 'symbol'] },
    });
    await until(() => dataCount(envelopes) > 5);
    const random = seededRandom(99);
    const symbols = ['BTC-USD', 'ETH-USD', 'SOL-USD', 'XRP-USD'];
    for (let i = 0; i < 12; i++) {
      sim.inject({
        kind: 'gap',
        count: 1 + Math.floor(random() * 3),
        symbol: symbols[Math.floor(random() * 4)],
        channel: random() < 0.5 ? 'trades' : 'quotes',
      });
      await new Promise((r) => setTimeout(r, 15));
    }
    await until(() => sim.stats().gapTicks === sim.stats().gaps.length && sim.stats().faults.gap === 12);
    const injected = sim
      .stats()
      .gaps.map((g) => `${g.channel === 'trades' ? 'trade' : 'quote'}|${g.symbol}:${g.seq}`);
    // Wait until every scope has moved past its last withheld seq, so every gap is observable.
    const found = () =>
      events.flatMap((e) =>
        e.kind === 'gap'
          ? Array.from({ length: e.got - e.expected }, (_, j) => `${e.scope}:${e.expected + j}`)
          : [],
      );
    await until(() => found().length >= injected.length);
    expect(found().sort()).toEqual(injected.sort());
    expect(source.stats().missing).toBe(injected.length);
    expect(source.stats().outOfOrder).toBe(0);
  });

  it('reports no gap on a gapless run, and sequences restart on reconnect by default', async () => {
    const sim = await simulator({ rate: 4000, seed: 4, numbers: 'mixed' });
    const { source, envelopes, events } = await run({
      url: sim.url,
      open_messages: SUBSCRIBE_ALL,
      sequence: { field: 'seq', scope: ['type', 'symbol'] },
    });
    await until(() => dataCount(envelopes) > 300);
    sim.inject({ kind: 'disconnect' });
    await until(() => events.filter((e) => e.kind === 'connected').length === 2);
    const n = dataCount(envelopes);
    await until(() => dataCount(envelopes) > n + 300);
    expect(events.filter((e) => e.kind === 'gap')).toEqual([]);
    expect(source.stats()).toMatchObject({ gaps: 0, outOfOrder: 0 });
  });

  it('with across_reconnects: continue, the messages missed during an outage are a gap', async () => {
    const sim = await simulator({ rate: 4000, seed: 4, symbols: ['BTC-USD'] });
    const { events, envelopes } = await run({
      url: sim.url,
      open_messages: [{ op: 'subscribe', channel: 'trades', symbols: ['BTC-USD'] }],
      reconnect: { base: '50ms', cap: '60ms' },
      sequence: { field: 'seq', scope: 'symbol', across_reconnects: 'continue' },
    });
    await until(() => dataCount(envelopes) > 20);
    sim.inject({ kind: 'disconnect', mode: 'reset' });
    await until(() => events.some((e) => e.kind === 'gap'));
    expect(events.find((e) => e.kind === 'gap')).toMatchObject({ scope: 'BTC-USD' });
  });

  it('on_gap: reconnect drops the connection after a gap and resubscribes (resync)', async () => {
    const sim = await simulator({ rate: 3000, symbols: ['BTC-USD'] });
    const { source, events, envelopes } = await run({
      url: sim.url,
      open_messages: SUBSCRIBE_ALL,
      sequence: { field: 'seq', scope: ['type', 'symbol'], on_gap: 'reconnect' },
    });
    await until(() => dataCount(envelopes) > 20);
    sim.inject({ kind: 'gap', count: 2, channel: 'trades' });
    await until(() => events.filter((e) => e.kind === 'connected').length === 2);
    const kinds = events.map((e) => e.kind);
    expect(kinds.indexOf('gap')).toBeLessThan(kinds.indexOf('disconnected'));
    expect((events.find((e) => e.kind === 'disconnected') as { reason: string }).reason).toContain(
      'sequence gap',
    );
    await until(() => sim.stats().clients[0]?.subscriptions.length === 2);
    expect(source.stats().gaps).toBe(1);
  });

  it('pause(): the source stops reading; the simulator buffers up to its bound and drops the slow client', async () => {
    const sim = await simulator({ rate: 40_000, symbols: 8, maxClientBufferBytes: 256 * 1024 });
    const { source, envelopes, events } = await run({
      url: sim.url,
      open_messages: SUBSCRIBE_ALL,
      heartbeat: { interval: '50ms', timeout: '100ms' },
    });
    await until(() => envelopes.length > 1000);
    source.pause();
    const atPause = envelopes.length;
    await until(() => sim.stats().slowClientDisconnects === 1, 8000);
    // While paused only what ws had already read may still come out, not the stream.
    expect(envelopes.length - atPause).toBeLessThan(20_000);
    await new Promise((r) => setTimeout(r, 150));
    const settled = envelopes.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(envelopes.length).toBe(settled);
    // The heartbeat does not kill a paused connection: only the simulator's policy ended it.
    expect(source.stats().heartbeatTimeouts).toBe(0);
    const peak = sim.stats().peakClientBufferedBytes;
    expect(peak).toBeGreaterThan(256 * 1024);
    expect(peak).toBeLessThan(256 * 1024 + 4 * 1024 * 1024);
    source.resume();
    await until(() => events.filter((e) => e.kind === 'connected').length === 2);
    const n = envelopes.length;
    await until(() => envelopes.length > n + 1000);
  });

  it('a frame of max_payload + 1 bytes closes with 1009; the source survives and reconnects', async () => {
    const sim = await simulator({ rate: 1000 });
    const { envelopes, events } = await run({
      url: sim.url,
      open_messages: SUBSCRIBE_ALL,
      max_payload: 4096,
    });
    await until(() => envelopes.length > 10);
    sim.inject({ kind: 'oversize', bytes: 4096 });
    await new Promise((r) => setTimeout(r, 50));
    expect(events.some((e) => e.kind === 'disconnected')).toBe(false);
    expect(envelopes.some((e) => (e.payload as string).length === 4096)).toBe(true);
    sim.inject({ kind: 'oversize', bytes: 4097 });
    await until(() => events.some((e) => e.kind === 'disconnected'));
    const reason = (events.find((e) => e.kind === 'disconnected') as { reason: string }).reason;
    expect(reason).toContain('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    // The client's close frame carried 1009 (Message Too Big) to the server.
    await until(() => sim.stats().closeCodes[1009] === 1);
    await until(() => events.filter((e) => e.kind === 'connected').length === 2);
    const n = envelopes.length;
    await until(() => envelopes.length > n + 10);
  });

  it('a fragment flood past max_payload ends in a 1009 close, not in buffering it all', async () => {
    // A raw server: handshake, then a text message split into 1 KiB fragments that never ends.
    const server = createServer();
    const sockets: Socket[] = [];
    let closeFrame: Buffer | undefined;
    server.on('upgrade', (req, socket: Socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
      socket.on('data', (d: Buffer) => {
        if ((d[0] & 0x0f) === 0x8) closeFrame = d;
      });
      const accept = createHash('sha1')
        .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      const body = Buffer.alloc(1024, 0x61);
      const fragment = (opcode: number) => Buffer.concat([Buffer.from([opcode, 126, 0x04, 0x00]), body]);
      socket.write(fragment(0x01));
      const flood = Buffer.concat(Array.from({ length: 256 }, () => fragment(0x00)));
      for (let i = 0; i < 64 && !socket.destroyed; i++) socket.write(flood);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const { events, envelopes } = await run({
        url,
        max_payload: '64KiB',
        heartbeat: { interval: '1s', timeout: '300ms' },
        reconnect: { base: '5s', cap: '5s' },
      });
      // The server never answers the close: the closing handshake is cut off after heartbeat.timeout.
      await until(() => events.some((e) => e.kind === 'disconnected'), 3000);
      expect((events.find((e) => e.kind === 'disconnected') as { reason: string }).reason).toContain(
        'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
      );
      expect(envelopes).toHaveLength(0);
      await until(() => closeFrame !== undefined);
      // Client frames are masked: 2 header bytes, 4 mask bytes, then the masked status code.
      const mask = closeFrame!.subarray(2, 6);
      expect(((closeFrame![6] ^ mask[0]) << 8) | (closeFrame![7] ^ mask[1])).toBe(1009);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('stop() aborts a handshake the server never answers, at once', async () => {
    const silent = createTcpServer();
    const accepted: Socket[] = [];
    let closed = 0;
    silent.on('connection', (socket) => {
      accepted.push(socket);
      socket.on('close', () => closed++);
      // Read (and ignore) the upgrade request, so the client's FIN is seen.
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = `ws://127.0.0.1:${(silent.address() as AddressInfo).port}/ws`;
      const source = new WebsocketSource(config({ url }), {
        name: 'feed',
        clock: { now: Date.now, scheduler: asyncScheduler },
        logger: quiet,
      });
      const events: SourceEvent[] = [];
      const started = source.start(
        () => {},
        (e) => events.push(e),
      );
      await until(() => accepted.length === 1);
      const t0 = performance.now();
      await source.stop();
      await started;
      expect(performance.now() - t0).toBeLessThan(500);
      await until(() => closed === 1);
      expect(events).toEqual([]);
      expect(source.isConnected()).toBe(false);
    } finally {
      for (const s of accepted) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('reports stale once per silent spell, authenticates and sends the app-level ping', async () => {
    const sim = await simulator({ rate: 1000, apiKeys: ['secret-key'] });
    const { envelopes, events } = await run({
      url: sim.url,
      open_messages: [{ op: 'auth', key: 'secret-key' }],
      heartbeat: { interval: '40ms', timeout: '500ms', message: { op: 'ping' } },
      stale_after: '120ms',
    });
    await until(() => envelopes.some((e) => e.payload === '{"type":"pong"}'));
    expect(envelopes[0].payload).toBe('{"type":"auth","ok":true}');
    // Only pongs arrive (no subscription): those are messages, so no stale yet; stop pinging by
    // stalling the server and the feed goes quiet.
    sim.inject({ kind: 'stall', ms: 400 });
    await until(() => events.some((e) => e.kind === 'stale'));
    const n = envelopes.length;
    await until(() => envelopes.length > n + 2);
    const stale = events.filter((e) => e.kind === 'stale');
    expect(stale).toHaveLength(1);
    expect((stale[0] as { silentMs: number }).silentMs).toBeGreaterThanOrEqual(120);
  });

  it('keeps retrying with backoff while the feed is down, then connects when it comes up', async () => {
    const sim = await simulator({ rate: 1000 });
    const url = sim.url;
    await sim.stop();
    const { source, events } = await run({ url, open_messages: SUBSCRIBE_ALL });
    await until(() => events.filter((e) => e.kind === 'reconnecting').length >= 3);
    const delays = events.flatMap((e) => (e.kind === 'reconnecting' ? [e.delayMs] : []));
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(10);
      expect(d).toBeLessThanOrEqual(100);
    }
    expect(source.isConnected()).toBe(false);
    expect(events[0]).toMatchObject({ kind: 'disconnected' });
    expect((events[0] as { reason: string }).reason).toContain('connect failed');
    await simulator({ rate: 1000, port: Number(new URL(url).port) });
    await until(() => source.isConnected());
    await until(() => source.stats().messages > 10);
  });
});
