import { describe, expect, it } from 'vitest';
import type { PipelineConfig, SinkConfig, SourceConfig, StreamConfig } from '../config/pipeline-config.ts';
import { VirtualClock } from './clock.ts';
import { MemoryDeadLetters } from './dead-letters.ts';
import { UnknownComponentError, UnknownStreamError } from './errors.ts';
import { createLogger } from './logger.ts';
import { PipelineMetrics } from './metrics.ts';
import { createPipeline, type PipelineOptions } from './runtime.ts';
import { FakeDecoder, type FakeSourceOptions, FakeWorld, fakeRegistry, idsOf } from './testing.ts';
import type { Batch } from './types.ts';

function source(extra: Record<string, unknown> = {}): SourceConfig {
  return {
    type: 'fake',
    schema: { id: 'f64' },
    decode: { format: 'json', fields: {} },
    batch: { count: 4, bytes: 1 << 20, period: 100 },
    backpressure: { high_water: 1_000, low_water: 100 },
    ...extra,
  };
}

const sink = (from: string[], extra: Record<string, unknown> = {}): SinkConfig => ({
  type: 'fake',
  from,
  ...extra,
});
const stream = (from: string, ...ops: [string, unknown?][]): StreamConfig => ({
  from,
  ops: ops.map(([name, config]) => ({ name, config: config ?? {} })),
});

interface Setup {
  sources?: Record<string, SourceConfig>;
  streams?: Record<string, StreamConfig>;
  sinks?: Record<string, SinkConfig>;
  shutdown_timeout?: number;
  opts?: PipelineOptions;
  sourceOptions?: FakeSourceOptions;
}

function setup(s: Setup) {
  const world = new FakeWorld();
  const clock = new VirtualClock(1_700_000_000_000);
  const dlq = new MemoryDeadLetters();
  const lines: string[] = [];
  const logger = createLogger({ stream: { write: (l: string) => lines.push(l) }, level: 'debug' });
  const config: PipelineConfig = {
    file: '/tmp/polaroid-test/pipeline.yaml',
    sources: s.sources ?? { a: source() },
    streams: s.streams ?? {},
    sinks: s.sinks ?? { out: sink(['a']) },
    dead_letter: { path: '/tmp/polaroid-test/unused.jsonl' },
    shutdown_timeout: s.shutdown_timeout ?? 20_000,
  };
  const p = createPipeline(config, fakeRegistry(world, s.sourceOptions), {
    clock,
    logger,
    deadLetters: dlq,
    decoder: () => new FakeDecoder(),
    ...s.opts,
  });
  const metric = async (
    name: Parameters<PipelineMetrics['value']>[0],
    component: string,
    kind: 'source' | 'sink' | 'stream',
  ) => {
    const data = await p.metrics.getSingleMetricAsString(`polaroid_${name}_total`);
    const line = data
      .split('\n')
      .find((l) => l.includes(`component="${component}"`) && l.includes(`kind="${kind}"`));
    return line === undefined ? 0 : Number(line.split(' ').pop());
  };
  return { world, clock, dlq, p, lines, metric };
}

const tick = () => new Promise<void>((r) => setImmediate(r));
async function settle(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await tick();
}

describe('runtime: data path', () => {
  it('delivers every row read to the sink and acks every message', async () => {
    const t = setup({});
    await t.p.start();
    expect(t.p.ready()).toBe(true);
    const src = t.world.source('a');
    for (let i = 0; i < 10; i++) src.push(`${2 * i},${2 * i + 1}`);
    t.clock.advance(100);
    await settle();
    const out = t.world.sink('out');
    expect([...out.rowIds].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(src.count('acked')).toBe(10);
    expect(await t.metric('rows_in', 'a', 'source')).toBe(20);
    expect(await t.metric('rows_out', 'out', 'sink')).toBe(20);
    expect(await t.metric('batches_out', 'out', 'sink')).toBe(out.written.length);
    const st = t.p.status();
    expect(st.sources[0]).toMatchObject({ name: 'a', rows: 20, batches: out.written.length, inFlight: 0 });
    expect(st.sinks[0]).toMatchObject({ name: 'out', durable: true, rows: 20, failures: 0 });
    const report = await t.p.stop();
    expect(report).toMatchObject({
      graceful: true,
      abandoned: { messages: 0, queuedRows: 0, pendingWrites: 0 },
    });
    expect(out.closed).toBe(true);
    expect(t.p.ready()).toBe(false);
  });

  it('forks acks across durable sinks: acked once both accepted, nacked when one fails', async () => {
    const t = setup({
      sources: { a: source({ batch: { count: 1, bytes: 1 << 20, period: 100 } }) },
      sinks: { s1: sink(['a'], { manual: true }), s2: sink(['a'], { manual: true }) },
    });
    await t.p.start();
    const src = t.world.source('a');
    const m1 = src.push('1');
    const m2 = src.push('2');
    await settle();
    const s1 = t.world.sink('s1');
    const s2 = t.world.sink('s2');
    s1.settle(true);
    await settle();
    expect(m1.state).toBe('pending');
    s2.settle(true);
    await settle();
    expect(m1.state).toBe('acked');
    s1.settle(false);
    await settle();
    expect(m2.state).toBe('nacked');
    s2.settle(true);
    await settle();
    expect(m2.state).toBe('nacked');
    expect(m2.settles).toBe(1);
  });

  it('nacks the batch of a failed write and keeps the pipeline running', async () => {
    const t = setup({
      sources: { a: source({ batch: { count: 1, bytes: 1 << 20, period: 100 } }) },
      sinks: { out: sink(['a'], { fail_every: 2 }) },
    });
    await t.p.start();
    const src = t.world.source('a');
    for (let i = 0; i < 6; i++) src.push(`${i}`);
    await settle();
    expect(src.messages.map((m) => m.state)).toEqual([
      'acked',
      'nacked',
      'acked',
      'nacked',
      'acked',
      'nacked',
    ]);
    expect([...t.world.sink('out').rowIds]).toEqual([0, 2, 4]);
    expect(await t.metric('write_errors', 'out', 'sink')).toBe(3);
    expect(t.p.status().sinks[0].failures).toBe(3);
    expect(t.p.ready()).toBe(true);
    expect(t.lines.some((l) => l.includes('sink write failed'))).toBe(true);
  });

  it('gives live sinks and batches() subscribers the rows without acks', async () => {
    const t = setup({
      streams: { p: stream('a', ['passthrough']) },
      sinks: { store: sink(['p'], { manual: true }), view: sink(['p', 'a'], { durable: false }) },
    });
    const seen: Batch[] = [];
    t.p.batches('p').subscribe((b) => seen.push(b));
    await t.p.start();
    const src = t.world.source('a');
    const m = src.push('1,2,3,4');
    await settle();
    const view = t.world.sink('view');
    expect(view.written.map((b) => [b.stream, idsOf(b.data)])).toEqual([
      ['a', [1, 2, 3, 4]],
      ['p', [1, 2, 3, 4]],
    ]);
    expect(view.written.every((b) => b.acks.size === 0)).toBe(true);
    expect(seen.map((b) => [b.stream, b.acks.size])).toEqual([['p', 0]]);
    expect(m.state).toBe('pending');
    t.world.sink('store').settle(true);
    await settle();
    expect(m.state).toBe('acked');
    expect(t.p.schemaOf('a')?.fields.map((f) => f.name)).toEqual(['id']);
    expect(t.p.schemaOf('p')?.fields.map((f) => f.name)).toEqual(['id']);
    expect(t.p.schemaOf('nothing')).toBeUndefined();
  });

  it('acks a batch with no durable consumer after its live writes settle', async () => {
    const t = setup({ sinks: { view: sink(['a'], { durable: false, manual: true }) } });
    await t.p.start();
    const m = t.world.source('a').push('1,2,3,4');
    await settle();
    expect(m.state).toBe('pending');
    t.world.sink('view').settle(true);
    await settle();
    expect(m.state).toBe('acked');
  });

  it('drops the oldest batch of a slow live sink, counted, and never holds acks for it', async () => {
    const t = setup({
      sources: { a: source({ batch: { count: 1, bytes: 1 << 20, period: 100 } }) },
      sinks: { view: sink(['a'], { durable: false, manual: true }), out: sink(['a']) },
      opts: { liveQueue: 2 },
    });
    await t.p.start();
    const src = t.world.source('a');
    for (let i = 0; i < 6; i++) src.push(`${i}`);
    await settle();
    expect(src.count('acked')).toBe(6);
    expect(await t.metric('dropped', 'view', 'sink')).toBe(3);
    expect(t.world.sink('view').pending).toBe(1);
  });

  it('acks zero-row batches through without writing them', async () => {
    const t = setup({ streams: { d: stream('a', ['drop_rows']) }, sinks: { out: sink(['d']) } });
    await t.p.start();
    const m = t.world.source('a').push('1,2,3,4');
    await settle();
    expect(m.state).toBe('acked');
    expect(t.world.sink('out').attempted).toHaveLength(0);
  });

  it('dead-letters rejected rows and acks after both the batch and the letter', async () => {
    const t = setup({});
    await t.p.start();
    const m = t.world.source('a').push('1,!bad,2,3,4');
    await settle();
    expect(t.dlq.letters).toMatchObject([{ source: 'a', position: 'fake seq=0', payload: 'bad' }]);
    expect(m.state).toBe('acked');
    expect([...t.world.sink('out').rowIds]).toEqual([1, 2, 3, 4]);
    expect(await t.metric('dead_lettered', 'a', 'source')).toBe(1);
  });

  it('feeds a two-input operator through ctx.stream with its own ack fork', async () => {
    const t = setup({
      sources: { a: source(), b: source() },
      streams: { m: stream('a', ['merge_with', { right: 'b' }]) },
      sinks: { out: sink(['m']), bstore: sink(['b'], { manual: true }) },
    });
    await t.p.start();
    const ma = t.world.source('a').push('1,2,3,4');
    const mb = t.world.source('b').push('5,6,7,8');
    await settle();
    expect([...t.world.sink('out').rowIds].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(ma.state).toBe('acked');
    expect(mb.state).toBe('pending');
    t.world.sink('bstore').settle(true);
    await settle();
    expect(mb.state).toBe('acked');
    const report = await t.p.stop();
    expect(report.graceful).toBe(true);
    expect(t.world.sink('out').closed).toBe(true);
  });

  it('keeps acks in a stateful operator until it emits, and its final state on stop', async () => {
    const t = setup({ streams: { h: stream('a', ['hold', { every: 3 }]) }, sinks: { out: sink(['h']) } });
    await t.p.start();
    const src = t.world.source('a');
    for (let i = 0; i < 16; i++) src.push(`${i}`);
    await settle();
    expect(src.count('acked')).toBe(12);
    expect(src.count('pending')).toBe(4);
    src.push('16');
    const report = await t.p.stop('test');
    expect(report).toMatchObject({ graceful: true, reason: 'test' });
    expect(src.count('acked')).toBe(17);
    expect(t.world.sink('out').rowIds.size).toBe(17);
  });

  it('marks the pipeline failed when an operator errors, nacking what it held on stop', async () => {
    const t = setup({
      streams: { f: stream('a', ['fail_at', { batch: 2 }]) },
      sinks: { out: sink(['f']), raw: sink(['a']) },
    });
    await t.p.start();
    const src = t.world.source('a');
    src.push('1,2,3,4');
    src.push('5,6,7,8');
    await settle();
    expect(t.p.ready()).toBe(false);
    expect(t.p.status()).toMatchObject({ state: 'failed', ready: false });
    expect(t.p.status().fatal).toContain('operator failed');
    expect(src.messages.map((m) => m.state)).toEqual(['acked', 'pending']);
    const later = src.push('9,10,11,12');
    await settle();
    expect(later.state).toBe('nacked');
    expect(later.nackReason?.name).toBe('OperatorFailedError');
    expect([...t.world.sink('raw').rowIds]).toContain(12);
    const report = await t.p.stop();
    expect(report.abandoned.messages).toBe(1);
    expect(src.messages[1].state).toBe('nacked');
    expect(src.messages[1].nackReason?.name).toBe('ShutdownAbandonedError');
  });
});

describe('runtime: with the JSON decoder', () => {
  it('decodes JSON messages into Arrow batches and dead-letters a poison message (B-5)', async () => {
    const t = setup({
      sources: {
        a: source({
          schema: { ts: 'timestamp', symbol: 'symbol', price: 'f64' },
          decode: { format: 'json', fields: {}, timestamp: { field: 'ts', unit: 'ms' } },
        }),
      },
      opts: { decoder: undefined },
    });
    await t.p.start();
    const src = t.world.source('a');
    const good1 = src.push('{"ts":1700000000000,"symbol":"BTC-USD","price":1.5}');
    const poison = src.push('{"ts":17000');
    const good2 = src.push(
      '[{"ts":1700000000001,"symbol":"ETH-USD","price":2.5},{"symbol":"ETH-USD","price":3}]',
    );
    t.clock.advance(100);
    await settle();
    const written = t.world.sink('out').written;
    expect(written).toHaveLength(1);
    const data = written[0].data;
    expect(data.schema.fields.map((f) => f.name)).toEqual(['ts', 'symbol', 'price']);
    expect(data.numRows).toBe(2);
    expect(data.getChild('symbol')?.toArray()).toEqual(['BTC-USD', 'ETH-USD']);
    expect(Array.from(data.getChild('price')!.toArray() as Float64Array)).toEqual([1.5, 2.5]);
    expect(t.dlq.letters.map((l) => l.position)).toEqual(['fake seq=1', 'fake seq=2']);
    expect(t.dlq.letters.every((l) => l.source === 'a' && l.reason.length > 0)).toBe(true);
    expect([good1.state, poison.state, good2.state]).toEqual(['acked', 'acked', 'acked']);
  });
});

describe('runtime: flow control and events', () => {
  it('pauses a pausable source while the durable sink is behind, and resumes it', async () => {
    const t = setup({
      sources: {
        a: source({
          batch: { count: 2, bytes: 1 << 20, period: 100 },
          backpressure: { high_water: 6, low_water: 2 },
        }),
      },
      sinks: { out: sink(['a'], { manual: true }) },
      opts: { maxInFlight: 1 },
    });
    await t.p.start();
    const src = t.world.source('a');
    for (let i = 0; i < 8; i++) src.push(`${i}`);
    expect(src.paused).toBe(true);
    expect(t.p.status().sources[0]).toMatchObject({ paused: true, queueRows: 6 });
    const out = t.world.sink('out');
    out.settle(true);
    await settle();
    expect(src.paused).toBe(true);
    expect(t.p.status().sources[0].queueRows).toBe(4);
    out.settle(true);
    await settle();
    expect(src.paused).toBe(false);
    expect(t.p.status().sources[0].queueRows).toBe(2);
    expect(src.resumes).toBe(1);
    while (out.settle(true)) await settle();
    expect(src.count('acked')).toBe(8);
  });

  it('drops and counts messages of a lossy source while its queue is full', async () => {
    const t = setup({
      sources: {
        a: source({
          flow_control: 'lossy',
          batch: { count: 2, bytes: 1 << 20, period: 100 },
          backpressure: { high_water: 4, low_water: 2 },
        }),
      },
      sinks: { out: sink(['a'], { manual: true }) },
      opts: { maxInFlight: 1 },
    });
    await t.p.start();
    const src = t.world.source('a');
    for (let i = 0; i < 10; i++) src.push(`${i}`);
    expect(src.count('nacked')).toBe(4);
    expect(src.messages[9].nackReason?.name).toBe('QueueFullError');
    expect(await t.metric('dropped', 'a', 'source')).toBe(4);
    expect(t.p.status().sources[0].drops).toBe(4);
    expect(t.lines.filter((l) => l.includes('messages dropped'))).toHaveLength(1);
    expect(src.pauses).toBe(0);
    for (let i = 10; i < 2_000; i++) src.push(`${i}`);
    const st = t.p.status().sources[0];
    expect(st.queueRows).toBeLessThanOrEqual(4);
    expect(st.drops).toBe(1_994);
    expect(st.inFlight).toBe(6);
  });

  it('turns source events into metrics, logs and readiness', async () => {
    const t = setup({});
    await t.p.start();
    const src = t.world.source('a');
    src.event({ kind: 'gap', scope: 'BTC-USD', expected: 5, got: 7 });
    src.event({ kind: 'stale', silentMs: 6_000 });
    src.event({ kind: 'dropped', count: 3, reason: 'venue' });
    src.event({ kind: 'disconnected', reason: 'eof' });
    expect(t.p.ready()).toBe(false);
    src.event({ kind: 'reconnecting', attempt: 1, delayMs: 250 });
    src.event({ kind: 'connected' });
    expect(t.p.ready()).toBe(true);
    expect(await t.metric('gaps', 'a', 'source')).toBe(1);
    expect(await t.metric('stale', 'a', 'source')).toBe(1);
    expect(await t.metric('dropped', 'a', 'source')).toBe(3);
    expect(await t.metric('reconnects', 'a', 'source')).toBe(1);
    expect(await t.p.metrics.getSingleMetricAsString('polaroid_source_connected')).toContain(
      'polaroid_source_connected{component="a",kind="source"} 1',
    );
    expect(t.p.status().sources[0]).toMatchObject({ gaps: 1, drops: 3, reconnects: 1 });
    expect(t.lines.some((l) => l.includes('sequence gap') && l.includes('BTC-USD'))).toBe(true);
  });

  it('reports rows per second between status calls from the injected clock', async () => {
    const t = setup({});
    await t.p.start();
    const src = t.world.source('a');
    for (let i = 0; i < 10; i++) src.push(`${i},${i + 100}`);
    t.clock.advance(2_000);
    expect(t.p.status().sources[0].rowsPerSec).toBe(10);
    t.clock.advance(1_000);
    expect(t.p.status().sources[0].rowsPerSec).toBe(0);
  });

  it('knows the schema of a source and of an operator-less stream before any batch', () => {
    const t = setup({ streams: { copy: stream('a'), held: stream('a', ['hold']) } });
    expect(t.p.schemaOf('copy')?.fields.map((f) => f.name)).toEqual(['id']);
    expect(t.p.schemaOf('held')).toBeUndefined();
  });

  it('uses its own metrics registry per pipeline', () => {
    const a = setup({});
    const b = setup({});
    expect(a.p.metrics).not.toBe(b.p.metrics);
    expect(new PipelineMetrics().registry).not.toBe(a.p.metrics);
  });
});

describe('runtime: build errors', () => {
  it('names unknown component types and unknown inputs', () => {
    expect(() => setup({ sources: { a: source({ type: 'nope' }) } })).toThrow(UnknownComponentError);
    expect(() => setup({ sinks: { out: sink(['zzz']) } })).toThrow(UnknownStreamError);
    expect(() => setup({ streams: { s: stream('a', ['nope']) } })).toThrow(/unknown op "nope"/);
  });
});

describe('runtime: graceful shutdown', () => {
  it('loses no row read, even from a source that emits while stopping', async () => {
    const t = setup({
      sources: { a: source({ batch: { count: 3, bytes: 1 << 20, period: 100 } }) },
      streams: { h: stream('a', ['hold', { every: 2 }]) },
      sinks: { out: sink(['a', 'h']), slow: sink(['h'], { manual: true }) },
      sourceOptions: {
        onStop: async (s) => {
          for (let i = 100; i < 105; i++) {
            s.push(`${i}`);
            await tick();
          }
        },
      },
    });
    await t.p.start();
    const src = t.world.source('a');
    for (let i = 0; i < 20; i++) src.push(`${i}`);
    await settle();
    const stopping = t.p.stop('SIGTERM');
    const slow = t.world.sink('slow');
    let done = false;
    stopping.then(() => {
      done = true;
    });
    while (!done) {
      slow.settle(true);
      await tick();
    }
    const report = await stopping;
    expect(report).toMatchObject({ graceful: true, abandoned: { messages: 0 } });
    expect(src.messages).toHaveLength(25);
    expect(src.messages.every((m) => m.state === 'acked' && m.settles === 1)).toBe(true);
    const ids = src.messages.map((m) => Number(m.payload));
    for (const name of ['out', 'slow'])
      expect([...t.world.sink(name).rowIds].sort((x, y) => x - y)).toEqual(ids);
  });

  it('force-stops at the deadline, nacking and reporting what was abandoned', async () => {
    const t = setup({
      sources: { a: source({ batch: { count: 1, bytes: 1 << 20, period: 100 } }) },
      sinks: { out: sink(['a'], { manual: true }) },
      shutdown_timeout: 5_000,
      opts: { maxInFlight: 1 },
    });
    await t.p.start();
    const src = t.world.source('a');
    for (let i = 0; i < 3; i++) src.push(`${i}`);
    await settle();
    const stopping = t.p.stop();
    await settle();
    t.clock.advance(5_000);
    const report = await stopping;
    expect(report.graceful).toBe(false);
    expect(report.abandoned).toEqual({ messages: 3, queuedRows: 2, pendingWrites: 1 });
    expect(src.messages.every((m) => m.state === 'nacked' && m.settles === 1)).toBe(true);
    t.world.sink('out').settle(true);
    await settle();
    expect(src.messages.every((m) => m.settles === 1)).toBe(true);
    expect(await t.p.stop()).toBe(report);
  });

  it('stops a pipeline that never started', async () => {
    const t = setup({});
    const report = await t.p.stop();
    expect(report.graceful).toBe(true);
    expect(t.world.sink('out').closed).toBe(true);
    await expect(t.p.start()).rejects.toThrow(/stopped/);
  });
});
