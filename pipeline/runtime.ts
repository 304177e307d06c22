/**
 * The pipeline runtime: builds sources, decoders, batchers, operator chains and sinks from a
 * parsed {@link PipelineConfig} and a component {@link Registry}, wires them, and owns flow
 * control, acks, metrics and graceful shutdown.
 *
 * ```
 * source ─push─► batcher ─► queue ─► [source output] ─┬─► stream ops ─► [stream output] ─► …
 *                (decode,   (bounded,                 ├─► durable sink (holds an ack fork)
 *                 dead      pause/drop)               └─► live sink (no acks, drop-oldest)
 *                 letters)
 * ```
 *
 * Every output (a source's or a stream's) hands each batch to its ack-holding consumers:
 * streams reading `from` it, operators reading it through `ctx.stream()`, and durable sinks.
 * With more than one such consumer the batch's acks are forked, so the source handles are
 * released only when every path acked. Live (non-durable) sinks and `batches()` subscribers get
 * the batch without acks. A batch with no ack-holding consumer is acked once its live sinks'
 * writes settled. A source's queue is drained only while every durable sink downstream of it has
 * fewer than `maxInFlight` writes pending: that is how a stalled sink slows the source.
 */

import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Schema } from 'apache-arrow';
import type { Registry as PromRegistry } from 'prom-client';
import { type Observable, Subject } from 'rxjs';
import type { PipelineConfig, SourceConfig } from '../config/pipeline-config.ts';
import type { Registry } from '../config/registry.ts';
import { type AckHandle, AckSet } from './acks.ts';
import { Batcher } from './batcher.ts';
import { systemClock } from './clock.ts';
import { FileDeadLetters } from './dead-letters.ts';
import type { Decoder } from './decode/decoder.ts';
import { createJsonDecoder } from './decode/json.ts';
import {
  OperatorFailedError,
  PipelineStateError,
  QueueFullError,
  ShutdownAbandonedError,
  UnknownComponentError,
  UnknownStreamError,
} from './errors.ts';
import { createLogger } from './logger.ts';
import { type ComponentCounters, PipelineMetrics } from './metrics.ts';
import { SourceQueue } from './queue.ts';
import type {
  Batch,
  BatchOperator,
  Clock,
  ComponentContext,
  DeadLetters,
  Envelope,
  Logger,
  Sink,
  Source,
  SourceEvent,
} from './types.ts';

/** Builds the decoder of one source from its config (`decode:` and `schema:`). */
export type DecoderFactory = (source: string, config: SourceConfig) => Decoder;

export interface PipelineOptions {
  clock?: Clock;
  logger?: Logger;
  /** Dead-letter output (default: a JSONL file at `config.dead_letter.path`, which the loader resolves against the config file's folder). */
  deadLetters?: DeadLetters;
  /** Decoder per source (default: {@link jsonDecoderFactory}). */
  decoder?: DecoderFactory;
  /** Pending writes per durable sink before the sources feeding it wait (default 4). */
  maxInFlight?: number;
  /** Batches queued per live (non-durable) sink before the oldest is dropped (default 16). */
  liveQueue?: number;
  /** prom-client registry for this pipeline's metrics (default: a new one). */
  metricsRegistry?: PromRegistry;
}

/** `failed`: a source could not start or an operator chain errored; `stop()` still drains the rest. */
export type PipelineState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** What a source has done so far (kept per source, reported in its status). */
export interface SourceCounts {
  rows: number;
  bytes: number;
  batches: number;
  gaps: number;
  drops: number;
  deadLettered: number;
  reconnects: number;
}

export interface SourceStatus extends SourceCounts {
  name: string;
  connected: boolean;
  paused: boolean;
  /** Rows per second since the previous `status()` call (or since start). */
  rowsPerSec: number;
  /** Rows decoded and not yet handed downstream. */
  queueRows: number;
  /** Messages read whose ack or nack has not been given yet. */
  inFlight: number;
}

export interface SinkStatus {
  name: string;
  durable: boolean;
  batches: number;
  rows: number;
  failures: number;
  pending: number;
  dropped: number;
}

export interface PipelineStatus {
  state: PipelineState;
  ready: boolean;
  fatal?: string;
  sources: SourceStatus[];
  sinks: SinkStatus[];
}

/** What `stop()` did. */
export interface StopReport {
  reason: string;
  /** False when the shutdown deadline passed and the rest was abandoned. */
  graceful: boolean;
  durationMs: number;
  abandoned: {
    /** Messages nacked at the end because they were still unacknowledged. */
    messages: number;
    /** Rows still queued in sources when the deadline passed. */
    queuedRows: number;
    /** Batches still waiting for (or in) a sink write when the deadline passed. */
    pendingWrites: number;
  };
}

export interface Pipeline {
  start(): Promise<void>;
  /** Graceful stop; resolves with what was abandoned if the deadline passed. Idempotent. */
  stop(reason?: string): Promise<StopReport>;
  /** Started, every source connected, no fatal error. */
  ready(): boolean;
  status(): PipelineStatus;
  readonly metrics: PromRegistry;
  /** A source's or stream's output, hot, without acks (for live views and servers). */
  batches(name: string): Observable<Batch>;
  /** Arrow schema of a source, of a stream without operators, or of a stream once it emitted. */
  schemaOf(name: string): Schema | undefined;
}

/** The JSON decoder of `pipeline/decode/json.ts`, sized for the batch policy's count. */
export const jsonDecoderFactory: DecoderFactory = (_source, config) =>
  createJsonDecoder(config.schema, config.decode, { capacity: config.batch.count });

export function createPipeline(
  config: PipelineConfig,
  registry: Registry,
  opts: PipelineOptions = {},
): Pipeline {
  return new PipelineRuntime(config, registry, opts);
}

interface Consumer {
  next(batch: Batch): void;
  complete(): void;
}

/**
 * The messages of one source between emit and ack/nack, as an intrusive doubly-linked list (no
 * hashing per message): its size is the in-flight count; what is left at shutdown is nacked.
 */
class AckTracker {
  head: TrackedAck | undefined;
  size = 0;

  add(t: TrackedAck): void {
    t.next = this.head;
    if (this.head !== undefined) this.head.prev = t;
    this.head = t;
    this.size++;
  }

  remove(t: TrackedAck): void {
    if (t.prev !== undefined) t.prev.next = t.next;
    else this.head = t.next;
    if (t.next !== undefined) t.next.prev = t.prev;
    t.prev = undefined;
    t.next = undefined;
    this.size--;
  }

  /** Nack every message still tracked; returns how many. */
  nackAll(reason: Error): number {
    let n = 0;
    while (this.head !== undefined) {
      this.head.nack(reason);
      n++;
    }
    return n;
  }
}

/** A source's ack handle, tracked from emit until ack or nack. */
/**
 * The source's envelope with the runtime's tracked ack in place of its own. `position` stays
 * lazy: sources build that text only when a dead letter or a log line reads it.
 */
class TrackedEnvelope implements Envelope {
  constructor(
    private readonly inner: Envelope,
    readonly ack: AckHandle,
  ) {}
  get payload(): string | Uint8Array {
    return this.inner.payload;
  }
  get receivedAt(): number {
    return this.inner.receivedAt;
  }
  get position(): string {
    return this.inner.position;
  }
}

class TrackedAck implements AckHandle {
  prev: TrackedAck | undefined;
  next: TrackedAck | undefined;
  private done = false;
  constructor(
    private readonly inner: AckHandle,
    private readonly tracker: AckTracker,
    private readonly onError: (e: unknown) => void,
  ) {
    tracker.add(this);
  }
  ack(): void {
    if (this.done) return;
    this.done = true;
    this.tracker.remove(this);
    try {
      this.inner.ack();
    } catch (e) {
      this.onError(e);
    }
  }
  nack(reason: Error): void {
    if (this.done) return;
    this.done = true;
    this.tracker.remove(this);
    try {
      this.inner.nack(reason);
    } catch (e) {
      this.onError(e);
    }
  }
}

/** The output of a source or a stream, fanned out to its consumers. */
class OutputNode {
  /** Ack-holding consumers: streams, `ctx.stream()` readers, durable sinks. */
  readonly consumers: Consumer[] = [];
  readonly liveSinks: SinkWriter[] = [];
  /** Streams reading this output (for reachability of durable sinks). */
  readonly next: OutputNode[] = [];
  readonly durableSinks: SinkWriter[] = [];
  readonly live = new Subject<Batch>();
  schema: Schema | undefined;
  completed = false;

  constructor(
    readonly name: string,
    readonly counters: ComponentCounters,
  ) {}

  emit(batch: Batch): void {
    if (this.completed) {
      batch.acks.nack(new PipelineStateError(`${this.name} emitted after completion`));
      return;
    }
    if (batch.stream !== this.name) batch = { stream: this.name, data: batch.data, acks: batch.acks };
    this.schema ??= batch.data.schema;
    this.counters.rows_out.inc(batch.data.numRows);
    this.counters.batches_out.inc();
    const consumers = this.consumers;
    const n = consumers.length;
    const liveSinks = this.liveSinks;
    const liveBatch =
      liveSinks.length > 0 || this.live.observed
        ? { stream: batch.stream, data: batch.data, acks: AckSet.empty() }
        : undefined;
    if (n === 0) {
      const acks = batch.acks;
      let left = liveSinks.length;
      if (left === 0) acks.ack();
      else {
        const done = (): void => {
          if (--left === 0) acks.ack();
        };
        for (const w of liveSinks) w.enqueue(liveBatch!, done);
      }
    } else {
      for (const w of liveSinks) w.enqueue(liveBatch!);
      if (n === 1) consumers[0].next(batch);
      else {
        const views = batch.acks.fork(n);
        for (let i = 0; i < n; i++)
          consumers[i].next({ stream: batch.stream, data: batch.data, acks: views[i] });
      }
    }
    if (liveBatch !== undefined && this.live.observed) this.live.next(liveBatch);
  }

  complete(): void {
    if (this.completed) return;
    this.completed = true;
    for (const c of this.consumers) c.complete();
    for (const w of this.liveSinks) w.inputDone();
    this.live.complete();
  }

  /** Durable sinks reachable from this output through streams. */
  reachableDurableSinks(): SinkWriter[] {
    const seen = new Set<OutputNode>();
    const out = new Set<SinkWriter>();
    const visit = (n: OutputNode): void => {
      if (seen.has(n)) return;
      seen.add(n);
      for (const w of n.durableSinks) out.add(w);
      for (const m of n.next) visit(m);
    };
    visit(this);
    return [...out];
  }
}

interface WriteItem {
  batch: Batch;
  done: (() => void) | undefined;
}

/** Writes one sink's batches one at a time, in order; settles acks by the outcome. */
class SinkWriter {
  readonly durable: boolean;
  batches = 0;
  rows = 0;
  failures = 0;
  dropped = 0;
  inputs = 0;
  private queue: WriteItem[] = [];
  /** A write is under way (counts as pending). */
  private writing = false;
  /** The write loop is running. */
  private pumping = false;
  private closing: Promise<void> | undefined;
  private resolveClosed!: () => void;
  readonly closed: Promise<void>;

  constructor(
    readonly name: string,
    private readonly sink: Sink,
    private readonly counters: ComponentCounters,
    private readonly metrics: PipelineMetrics,
    private readonly logger: Logger,
    private readonly liveQueue: number,
    private readonly onSettled: () => void,
  ) {
    this.durable = sink.durable;
    this.closed = new Promise((r) => {
      this.resolveClosed = r;
    });
  }

  /** Batches queued or being written. */
  get pending(): number {
    return this.queue.length + (this.writing ? 1 : 0);
  }

  enqueue(batch: Batch, done?: () => void): void {
    if (this.closing !== undefined) {
      batch.acks.nack(new PipelineStateError(`sink ${this.name} is closed`));
      done?.();
      return;
    }
    if (!this.durable && this.queue.length >= this.liveQueue) {
      const old = this.queue.shift()!;
      this.dropped++;
      this.counters.dropped.inc();
      old.done?.();
    }
    this.queue.push({ batch, done });
    if (!this.pumping) void this.pump();
  }

  inputDone(): void {
    this.inputs--;
    this.maybeClose();
  }

  maybeClose(): void {
    if (this.inputs <= 0 && this.queue.length === 0 && !this.pumping) this.close();
  }

  /** Stop writing; returns the batches that were still waiting. */
  abandon(): number {
    const n = this.pending;
    this.queue = [];
    this.close();
    return n;
  }

  private close(): void {
    if (this.closing !== undefined) return;
    this.closing = (async () => {
      try {
        await this.sink.close();
      } catch (e) {
        this.logger.error('sink close failed', { sink: this.name, error: e });
      }
      this.resolveClosed();
    })();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    while (this.queue.length > 0) {
      const item = this.queue.shift()!;
      this.writing = true;
      await this.writeOne(item.batch);
      this.writing = false;
      item.done?.();
      this.onSettled();
    }
    this.pumping = false;
    if (this.inputs <= 0) this.maybeClose();
  }

  private async writeOne(batch: Batch): Promise<void> {
    const rows = batch.data.numRows;
    if (rows === 0) {
      batch.acks.ack();
      return;
    }
    const t0 = performance.now();
    try {
      await this.sink.write(batch);
      this.metrics.observeWrite(this.name, (performance.now() - t0) / 1000);
      this.batches++;
      this.rows += rows;
      this.counters.rows_out.inc(rows);
      this.counters.batches_out.inc();
      batch.acks.ack();
    } catch (e) {
      this.metrics.observeWrite(this.name, (performance.now() - t0) / 1000);
      this.failures++;
      this.counters.write_errors.inc();
      const err = e instanceof Error ? e : new Error(String(e));
      batch.acks.nack(err);
      this.logger.warn('sink write failed; batch nacked', { sink: this.name, rows, error: err });
    }
  }
}

interface SourceRuntime extends SourceCounts {
  name: string;
  source: Source;
  decoder: Decoder;
  batcher: Batcher;
  queue: SourceQueue;
  node: OutputNode;
  counters: ComponentCounters;
  outstanding: AckTracker;
  downstream: SinkWriter[];
  started: boolean;
  lastStatusAt: number;
  lastStatusRows: number;
  dropsLogged: number;
  lastDropLogAt: number;
}

const DROP_LOG_INTERVAL_MS = 5_000;

class PipelineRuntime implements Pipeline {
  readonly metrics: PromRegistry;
  private readonly m: PipelineMetrics;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly deadLetters: DeadLetters;
  private readonly ownedDeadLetters: FileDeadLetters | undefined;
  private readonly maxInFlight: number;
  private readonly liveQueue: number;
  private readonly nodes = new Map<string, OutputNode>();
  private readonly sources: SourceRuntime[] = [];
  private readonly writers: SinkWriter[] = [];
  private state: PipelineState = 'idle';
  private fatal: Error | undefined;
  private stopping: Promise<StopReport> | undefined;
  private draining = false;
  private drainAgain = false;
  private queuesEmptyWaiters: (() => void)[] = [];
  private startedAt = 0;

  constructor(
    private readonly config: PipelineConfig,
    registry: Registry,
    opts: PipelineOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? createLogger();
    this.m = new PipelineMetrics(opts.metricsRegistry);
    this.metrics = this.m.registry;
    this.maxInFlight = opts.maxInFlight ?? 4;
    this.liveQueue = opts.liveQueue ?? 16;
    if (opts.deadLetters !== undefined) this.deadLetters = opts.deadLetters;
    else {
      this.ownedDeadLetters = new FileDeadLetters(resolve(config.dead_letter.path));
      this.deadLetters = this.ownedDeadLetters;
    }
    this.build(registry, opts.decoder ?? jsonDecoderFactory);
  }

  private build(registry: Registry, decoderFactory: DecoderFactory): void {
    for (const [name, sc] of Object.entries(this.config.sources)) {
      const spec = registry.source(sc.type);
      if (spec === undefined) throw new UnknownComponentError(`source ${name}: unknown type "${sc.type}"`);
      const { type: _type, ...own } = sc;
      const source = spec.create(own, this.context(name, undefined));
      this.addSource(name, sc, source, decoderFactory(name, sc));
    }
    const streams = Object.entries(this.config.streams);
    for (const [name] of streams) {
      if (this.nodes.has(name)) throw new UnknownStreamError(`stream ${name}: a source has the same name`);
      this.nodes.set(name, new OutputNode(name, this.m.component(name, 'stream')));
    }
    for (const [name, st] of streams) this.buildStream(registry, name, st.from, st.ops);
    for (const [name, sk] of Object.entries(this.config.sinks)) {
      const spec = registry.sink(sk.type);
      if (spec === undefined) throw new UnknownComponentError(`sink ${name}: unknown type "${sk.type}"`);
      const { type: _type, from, ...own } = sk;
      const sink = spec.create(own, this.context(name, undefined));
      const writer = new SinkWriter(
        name,
        sink,
        this.m.component(name, 'sink'),
        this.m,
        this.logger,
        this.liveQueue,
        () => this.drainAll(),
      );
      this.writers.push(writer);
      for (const f of from) {
        const node = this.node(f, `sink ${name}`);
        writer.inputs++;
        if (writer.durable) {
          node.durableSinks.push(writer);
          node.consumers.push({ next: (b) => writer.enqueue(b), complete: () => writer.inputDone() });
        } else node.liveSinks.push(writer);
      }
    }
    for (const s of this.sources) s.downstream = s.node.reachableDurableSinks();
  }

  private addSource(name: string, sc: SourceConfig, source: Source, decoder: Decoder): void {
    const counters = this.m.component(name, 'source');
    const node = new OutputNode(name, counters);
    this.nodes.set(name, node);
    const log = this.logger;
    const queue = new SourceQueue(
      {
        flowControl: source.flowControl,
        highWaterRows: sc.backpressure.high_water,
        lowWaterRows: sc.backpressure.low_water,
        stagedRows: () => decoder.pendingRows,
        stagedBytes: () => decoder.pendingBytes,
      },
      {
        pause: () => {
          log.debug('source paused: queue above high water', { source: name, rows: queue.depthRows });
          source.pause();
        },
        resume: () => {
          log.debug('source resumed: queue at low water', { source: name, rows: queue.depthRows });
          source.resume();
        },
        onDrop: (count) => this.onDrop(rt, count, 'queue full'),
        onDepth: (rows) => this.m.setQueueDepth(name, rows),
      },
    );
    const batcher = new Batcher(
      {
        stream: name,
        decoder,
        policy: sc.batch,
        clock: this.clock,
        deadLetters: this.deadLetters,
        hooks: {
          deadLettered: (n) => {
            rt.deadLettered += n;
            counters.dead_lettered.inc(n);
          },
          deadLetterFailed: (error, position) =>
            log.error('dead-letter write failed; message nacked', { source: name, position, error }),
        },
      },
      (batch, bytes) => {
        const rows = batch.data.numRows;
        rt.rows += rows;
        rt.bytes += bytes;
        rt.batches++;
        counters.rows_in.inc(rows);
        counters.bytes_in.inc(bytes);
        queue.push(batch, bytes);
        this.drainAll();
      },
    );
    const rt: SourceRuntime = {
      name,
      source,
      decoder,
      batcher,
      queue,
      node,
      counters,
      outstanding: new AckTracker(),
      downstream: [],
      started: false,
      rows: 0,
      bytes: 0,
      batches: 0,
      gaps: 0,
      drops: 0,
      deadLettered: 0,
      reconnects: 0,
      lastStatusAt: 0,
      lastStatusRows: 0,
      dropsLogged: 0,
      lastDropLogAt: Number.NEGATIVE_INFINITY,
    };
    this.sources.push(rt);
  }

  private buildStream(
    registry: Registry,
    name: string,
    from: string,
    ops: readonly { name: string; config: unknown }[],
  ): void {
    const node = this.nodes.get(name)!;
    const upstream = this.node(from, `stream ${name}`);
    const input = new Subject<Batch>();
    let failure: Error | undefined;
    upstream.consumers.push({
      // After the operator chain failed, later batches are refused at once rather than held.
      next: (b) => (failure === undefined ? input.next(b) : b.acks.nack(failure)),
      complete: () => input.complete(),
    });
    upstream.next.push(node);
    let out: Observable<Batch> = input.asObservable();
    for (const op of ops) {
      const spec = registry.op(op.name);
      if (spec === undefined) throw new UnknownComponentError(`stream ${name}: unknown op "${op.name}"`);
      const fn: BatchOperator = spec.create(op.config, this.context(name, node));
      out = fn(out);
    }
    out.subscribe({
      next: (b) => node.emit(b),
      error: (e: unknown) => {
        failure = new OperatorFailedError(`stream ${name}: operator failed`, { cause: e });
        this.setFatal(failure, name);
        node.complete();
      },
      complete: () => node.complete(),
    });
  }

  private context(name: string, consumer: OutputNode | undefined): ComponentContext {
    const child = (this.logger as { child?: (f: Record<string, unknown>) => Logger }).child;
    return {
      name,
      configDir: dirname(this.config.file),
      clock: this.clock,
      logger: child ? child.call(this.logger, { component: name }) : this.logger,
      deadLetters: this.deadLetters,
      stream: (other) => this.attach(other, consumer, name),
      schemaOf: (other) => this.schemaOf(other),
      count: (event, rows) => this.m.countOpRows(name, event, rows),
    };
  }

  /** A second input for an operator: an ack-holding consumer of `other`'s output. */
  private attach(other: string, consumer: OutputNode | undefined, by: string): Observable<Batch> {
    const node = this.node(other, by);
    if (consumer === undefined) return this.batches(other);
    const subject = new Subject<Batch>();
    node.consumers.push({ next: (b) => subject.next(b), complete: () => subject.complete() });
    node.next.push(consumer);
    return subject.asObservable();
  }

  private node(name: string, by: string): OutputNode {
    const n = this.nodes.get(name);
    if (n === undefined) throw new UnknownStreamError(`${by}: no source or stream named "${name}"`);
    return n;
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') throw new PipelineStateError(`cannot start a pipeline that is ${this.state}`);
    this.state = 'starting';
    this.startedAt = this.clock.now();
    try {
      await Promise.all(
        this.sources.map(async (rt) => {
          rt.lastStatusAt = this.startedAt;
          await rt.source.start(
            (env) => this.onEnvelope(rt, env),
            (e) => this.onEvent(rt, e),
          );
          rt.started = true;
          this.m.setConnected(rt.name, rt.source.isConnected());
        }),
      );
    } catch (e) {
      this.state = 'failed';
      this.setFatal(e instanceof Error ? e : new Error(String(e)), 'start');
      throw e;
    }
    if (this.state === 'starting') this.state = 'running';
    this.logger.info('pipeline started', {
      sources: this.sources.length,
      streams: Object.keys(this.config.streams).length,
      sinks: this.writers.length,
    });
  }

  ready(): boolean {
    if (this.state !== 'running' || this.fatal !== undefined) return false;
    for (const s of this.sources) if (!s.source.isConnected()) return false;
    return true;
  }

  batches(name: string): Observable<Batch> {
    const node = this.node(name, 'batches()');
    return node.live.asObservable();
  }

  schemaOf(name: string): Schema | undefined {
    for (const s of this.sources) if (s.name === name) return s.decoder.schema;
    const seen = this.nodes.get(name)?.schema;
    if (seen !== undefined) return seen;
    // A stream without operators has its input's schema before any batch flowed.
    const st = this.config.streams[name];
    return st !== undefined && st.ops.length === 0 && st.from !== name ? this.schemaOf(st.from) : undefined;
  }

  status(): PipelineStatus {
    const now = this.clock.now();
    const sources = this.sources.map((s): SourceStatus => {
      const dt = (now - s.lastStatusAt) / 1000;
      const rate = dt > 0 ? (s.rows - s.lastStatusRows) / dt : 0;
      s.lastStatusAt = now;
      s.lastStatusRows = s.rows;
      return {
        name: s.name,
        connected: s.started && s.source.isConnected(),
        paused: s.queue.paused,
        rows: s.rows,
        rowsPerSec: rate,
        bytes: s.bytes,
        batches: s.batches,
        gaps: s.gaps,
        drops: s.drops,
        deadLettered: s.deadLettered,
        reconnects: s.reconnects,
        queueRows: s.queue.depthRows,
        inFlight: s.outstanding.size,
      };
    });
    const sinks = this.writers.map(
      (w): SinkStatus => ({
        name: w.name,
        durable: w.durable,
        batches: w.batches,
        rows: w.rows,
        failures: w.failures,
        pending: w.pending,
        dropped: w.dropped,
      }),
    );
    const st: PipelineStatus = { state: this.state, ready: this.ready(), sources, sinks };
    if (this.fatal !== undefined) st.fatal = this.fatal.message;
    return st;
  }

  stop(reason = 'stop requested'): Promise<StopReport> {
    this.stopping ??= this.shutdown(reason);
    return this.stopping;
  }

  private onEnvelope(rt: SourceRuntime, env: Envelope): void {
    const ack = new TrackedAck(env.ack, rt.outstanding, (e) =>
      this.logger.error('source ack handle threw', { source: rt.name, error: e }),
    );
    if (!rt.queue.admit()) {
      ack.nack(new QueueFullError(`${rt.name}: queue full, message dropped`));
      return;
    }
    rt.batcher.push(new TrackedEnvelope(env, ack));
    rt.queue.check();
  }

  private onDrop(rt: SourceRuntime, count: number, reason: string): void {
    rt.drops += count;
    rt.counters.dropped.inc(count);
    const now = this.clock.now();
    if (now - rt.lastDropLogAt >= DROP_LOG_INTERVAL_MS) {
      this.logger.warn('messages dropped', {
        source: rt.name,
        reason,
        dropped: rt.drops - rt.dropsLogged,
        total: rt.drops,
      });
      rt.dropsLogged = rt.drops;
      rt.lastDropLogAt = now;
    }
  }

  private onEvent(rt: SourceRuntime, e: SourceEvent): void {
    const log = this.logger;
    const source = rt.name;
    switch (e.kind) {
      case 'connected':
        this.m.setConnected(source, true);
        log.info('source connected', { source });
        break;
      case 'disconnected':
        this.m.setConnected(source, false);
        log.warn('source disconnected', { source, reason: e.reason });
        break;
      case 'reconnecting':
        rt.reconnects++;
        rt.counters.reconnects.inc();
        log.info('source reconnecting', { source, attempt: e.attempt, delayMs: e.delayMs });
        break;
      case 'gap':
        rt.gaps++;
        rt.counters.gaps.inc();
        log.warn('sequence gap', { source, scope: e.scope, expected: e.expected, got: e.got });
        break;
      case 'stale':
        rt.counters.stale.inc();
        log.warn('source stale', { source, silentMs: e.silentMs });
        break;
      case 'dropped':
        this.onDrop(rt, e.count, e.reason);
        break;
    }
  }

  /** A component failed for good: the pipeline is `failed` (not ready) until stopped. */
  private setFatal(e: Error, component: string): void {
    this.fatal ??= e;
    if (this.state === 'running' || this.state === 'starting') this.state = 'failed';
    this.logger.error('pipeline component failed', { component, error: e, cause: e.cause });
  }

  /** Hand queued batches downstream while the durable sinks below each source have room. */
  private drainAll(): void {
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = true;
    try {
      do {
        this.drainAgain = false;
        for (const rt of this.sources) {
          while (rt.queue.length > 0 && this.hasRoom(rt)) rt.node.emit(rt.queue.shift()!);
        }
      } while (this.drainAgain);
    } finally {
      this.draining = false;
    }
    if (this.queuesEmptyWaiters.length > 0 && this.queuesEmpty()) {
      const waiters = this.queuesEmptyWaiters;
      this.queuesEmptyWaiters = [];
      for (const w of waiters) w();
    }
  }

  private hasRoom(rt: SourceRuntime): boolean {
    for (const w of rt.downstream) if (w.pending >= this.maxInFlight) return false;
    return true;
  }

  private queuesEmpty(): boolean {
    for (const rt of this.sources) if (rt.queue.length > 0) return false;
    return true;
  }

  private async shutdown(reason: string): Promise<StopReport> {
    const t0 = this.clock.now();
    const prior = this.state;
    this.state = 'stopping';
    this.logger.info('pipeline stopping', { reason });
    let timer: { unsubscribe(): void } | undefined;
    const deadline = new Promise<'timeout'>((res) => {
      timer = this.clock.scheduler.schedule(() => res('timeout'), this.config.shutdown_timeout);
    });
    const outcome = await Promise.race([this.drainAndClose(prior).then(() => 'done' as const), deadline]);
    timer?.unsubscribe();
    let queuedRows = 0;
    let pendingWrites = 0;
    if (outcome === 'timeout') {
      for (const rt of this.sources) queuedRows += rt.queue.depthRows;
      for (const w of this.writers) pendingWrites += w.abandon();
    }
    const err = new ShutdownAbandonedError(`shutdown (${reason}) left the message unacknowledged`);
    let messages = 0;
    for (const rt of this.sources) messages += rt.outstanding.nackAll(err);
    if (this.ownedDeadLetters !== undefined) {
      try {
        await this.ownedDeadLetters.close();
      } catch (e) {
        this.logger.error('dead-letter file close failed', { error: e });
      }
    }
    this.state = 'stopped';
    const report: StopReport = {
      reason,
      graceful: outcome === 'done',
      durationMs: this.clock.now() - t0,
      abandoned: { messages, queuedRows, pendingWrites },
    };
    if (report.graceful && messages === 0) this.logger.info('pipeline stopped', { reason });
    else this.logger.warn('pipeline stopped; work abandoned', { ...report });
    return report;
  }

  /** stop inputs → flush batchers → drain queues → complete operators → sinks write and close. */
  private async drainAndClose(prior: PipelineState): Promise<void> {
    if (prior !== 'idle') {
      await Promise.all(
        this.sources.map(async (rt) => {
          if (!rt.started && prior !== 'starting' && prior !== 'failed') return;
          try {
            await rt.source.stop();
          } catch (e) {
            this.logger.error('source stop failed', { source: rt.name, error: e });
          }
        }),
      );
    }
    for (const rt of this.sources) rt.batcher.close();
    this.drainAll();
    if (!this.queuesEmpty()) await new Promise<void>((r) => this.queuesEmptyWaiters.push(r));
    for (const rt of this.sources) rt.node.complete();
    for (const w of this.writers) w.maybeClose();
    await Promise.all(this.writers.map((w) => w.closed));
  }
}
