/**
 * Fakes for testing the runtime and anything built on it: a decoder over a tiny text format, a
 * source whose pushes and acks the test drives and records, a sink whose writes the test can
 * hold, fail or let through, a few operators, and a registry with all of them.
 *
 * Fake payload format: comma-separated tokens; `17` is a good row with id 17, `!17` is a row the
 * decoder rejects, an empty payload has no rows (as a filtered message).
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { map, Observable, type OperatorFunction } from 'rxjs';
import { z } from 'zod';
import { Registry } from '../config/registry.ts';
import { float64Column, float64Vector, recordBatchFromVectors } from '../timeseries/arrow.ts';
import { type AckHandle, AckSet } from './acks.ts';
import type { Decoder, Reject } from './decode/decoder.ts';
import type { Batch, Envelope, FlowControl, Sink, Source, SourceEvent } from './types.ts';

/** A record batch with one Float64 column `id`. */
export function idBatch(ids: readonly number[]): RecordBatch {
  return recordBatchFromVectors({ id: float64Vector(Float64Array.from(ids)) });
}

/** The `id` column of a batch as numbers (none when the batch has no `id` column). */
export function idsOf(batch: RecordBatch): number[] {
  if (batch.numRows === 0 || batch.schema.fields.every((f) => f.name !== 'id')) return [];
  return Array.from(float64Column(batch, 'id'));
}

export const ID_SCHEMA: Schema = idBatch([1]).schema;

/** Decoder of the fake payload format into batches with an `id` column. */
export class FakeDecoder implements Decoder {
  readonly schema = ID_SCHEMA;
  private ids: number[] = [];
  private bytes = 0;
  /** Calls to `decode` so far. */
  calls = 0;

  get pendingRows(): number {
    return this.ids.length;
  }

  get pendingBytes(): number {
    return this.bytes;
  }

  decode(payload: string | Uint8Array, reject: Reject): number {
    this.calls++;
    const text = typeof payload === 'string' ? payload : new TextDecoder().decode(payload);
    this.bytes += typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
    if (text === '') return 0;
    let n = 0;
    for (const token of text.split(',')) {
      if (token.startsWith('!')) reject('rejected by the fake decoder', token.slice(1));
      else {
        const id = Number(token);
        if (Number.isFinite(id)) {
          this.ids.push(id);
          n++;
        } else reject(`not a number: ${token}`, token);
      }
    }
    return n;
  }

  flush(): RecordBatch {
    const batch = idBatch(this.ids);
    this.ids = [];
    this.bytes = 0;
    return batch;
  }
}

export type AckState = 'pending' | 'acked' | 'nacked';

/** What happened to one envelope a fake source emitted. */
export interface EmittedMessage {
  position: string;
  payload: string;
  state: AckState;
  /** Times ack or nack was called (more than 1 is a bug in the caller). */
  settles: number;
  nackReason?: Error;
}

export interface FakeSourceOptions {
  flowControl?: FlowControl;
  /** Runs inside `stop()` before it resolves (e.g. to emit while stopping). */
  onStop?: (source: FakeSource) => Promise<void> | void;
  /** Called when a message is acked (for property checks). */
  onAck?: (message: EmittedMessage) => void;
}

/** A source driven by the test: `push()` emits, every ack/nack is recorded. */
export class FakeSource implements Source {
  readonly flowControl: FlowControl;
  readonly messages: EmittedMessage[] = [];
  paused = false;
  pauses = 0;
  resumes = 0;
  started = false;
  stopped = false;
  connected = true;
  private emitFn: ((env: Envelope) => void) | undefined;
  private eventFn: ((e: SourceEvent) => void) | undefined;
  private readonly options: FakeSourceOptions;
  private seq = 0;

  constructor(options: FakeSourceOptions = {}) {
    this.options = options;
    this.flowControl = options.flowControl ?? 'pausable';
  }

  async start(emit: (env: Envelope) => void, event: (e: SourceEvent) => void): Promise<void> {
    this.emitFn = emit;
    this.eventFn = event;
    this.started = true;
    event({ kind: 'connected' });
  }

  /** Emit one message; returns its record. */
  push(payload: string, receivedAt = 0): EmittedMessage {
    if (this.emitFn === undefined) throw new Error('fake source not started');
    if (this.stopped) throw new Error('fake source pushed after stop() resolved');
    const msg: EmittedMessage = { position: `fake seq=${this.seq++}`, payload, state: 'pending', settles: 0 };
    this.messages.push(msg);
    const onAck = this.options.onAck;
    const ack: AckHandle = {
      ack() {
        msg.settles++;
        if (msg.state === 'pending') {
          msg.state = 'acked';
          onAck?.(msg);
        }
      },
      nack(reason: Error) {
        msg.settles++;
        if (msg.state === 'pending') {
          msg.state = 'nacked';
          msg.nackReason = reason;
        }
      },
    };
    this.emitFn({ payload, receivedAt, ack, position: msg.position });
    return msg;
  }

  event(e: SourceEvent): void {
    if (e.kind === 'connected') this.connected = true;
    if (e.kind === 'disconnected') this.connected = false;
    this.eventFn?.(e);
  }

  pause(): void {
    this.paused = true;
    this.pauses++;
  }

  resume(): void {
    this.paused = false;
    this.resumes++;
  }

  isConnected(): boolean {
    return this.connected;
  }

  async stop(): Promise<void> {
    await this.options.onStop?.(this);
    this.stopped = true;
  }

  count(state: AckState): number {
    let n = 0;
    for (const m of this.messages) if (m.state === state) n++;
    return n;
  }
}

export interface FakeSinkOptions {
  durable?: boolean;
  /** `auto`: writes resolve on the next microtask; `manual`: the test calls `settle()`. */
  mode?: 'auto' | 'manual';
  /** In auto mode, writes of batches for which this returns true reject. */
  fail?: (batch: Batch, index: number) => boolean;
}

interface PendingWrite {
  batch: Batch;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** A sink that records what was durably written and lets the test decide each write's fate. */
export class FakeSink implements Sink {
  readonly durable: boolean;
  /** Batches whose write resolved, in order. */
  readonly written: Batch[] = [];
  /** Every batch passed to write, in order. */
  readonly attempted: Batch[] = [];
  readonly failed: Batch[] = [];
  closed = false;
  private readonly mode: 'auto' | 'manual';
  private readonly fail: ((batch: Batch, index: number) => boolean) | undefined;
  private readonly waiting: PendingWrite[] = [];
  /** Ids of rows whose write resolved. */
  readonly rowIds = new Set<number>();

  constructor(options: FakeSinkOptions = {}) {
    this.durable = options.durable ?? true;
    this.mode = options.mode ?? 'auto';
    this.fail = options.fail;
  }

  get pending(): number {
    return this.waiting.length;
  }

  write(batch: Batch): Promise<void> {
    if (this.closed) return Promise.reject(new Error('fake sink written after close'));
    const index = this.attempted.length;
    this.attempted.push(batch);
    return new Promise<void>((resolve, reject) => {
      const w: PendingWrite = { batch, resolve, reject };
      if (this.mode === 'manual') this.waiting.push(w);
      else queueMicrotask(() => this.finish(w, !(this.fail?.(batch, index) ?? false)));
    });
  }

  /** Settle the oldest held write (manual mode). Returns false if none is held. */
  settle(ok = true): boolean {
    const w = this.waiting.shift();
    if (w === undefined) return false;
    this.finish(w, ok);
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private finish(w: PendingWrite, ok: boolean): void {
    if (ok) {
      this.written.push(w.batch);
      for (const id of idsOf(w.batch.data)) this.rowIds.add(id);
      w.resolve();
    } else {
      this.failed.push(w.batch);
      w.reject(new Error('fake sink write failed'));
    }
  }
}

/**
 * A stateful operator: absorbs every batch and holds its acks; every `every` batches (and on
 * completion) emits one batch of all absorbed rows with the merged acks.
 */
export function holdOperator(every = Number.POSITIVE_INFINITY): OperatorFunction<Batch, Batch> {
  return (input) =>
    new Observable<Batch>((sub) => {
      let ids: number[] = [];
      let acks: AckSet[] = [];
      let stream = '';
      const emit = (): void => {
        const out: Batch = { stream, data: idBatch(ids), acks: AckSet.merge(acks) };
        ids = [];
        acks = [];
        sub.next(out);
      };
      return input.subscribe({
        next(b) {
          stream = b.stream;
          ids.push(...idsOf(b.data));
          acks.push(b.acks);
          if (acks.length >= every) emit();
        },
        error: (e) => sub.error(e),
        complete() {
          if (acks.length > 0) emit();
          sub.complete();
        },
      });
    });
}

/** Handles to the fakes a {@link fakeRegistry} created, by component name. */
export class FakeWorld {
  readonly sources = new Map<string, FakeSource>();
  readonly sinks = new Map<string, FakeSink>();
  source(name: string): FakeSource {
    const s = this.sources.get(name);
    if (s === undefined) throw new Error(`no fake source ${name}`);
    return s;
  }
  sink(name: string): FakeSink {
    const s = this.sinks.get(name);
    if (s === undefined) throw new Error(`no fake sink ${name}`);
    return s;
  }
}

const anyConfig = z.record(z.string(), z.unknown()).describe('Fake component settings');

/**
 * A registry of fakes: source `fake` (`flow_control`), sink `fake` (`durable`, `manual`,
 * `fail_every`), ops `passthrough`, `hold` (`every`), `drop_rows` (zero-row batches keeping the
 * acks), `merge_with` (`right`: a second input through `ctx.stream`) and `fail_at` (`batch`:
 * errors on that batch).
 */
export function fakeRegistry(world: FakeWorld, sourceOptions: FakeSourceOptions = {}): Registry {
  const r = new Registry();
  r.register({
    kind: 'source',
    name: 'fake',
    summary: 'Test source driven by push()',
    stability: 'experimental',
    config: anyConfig,
    create(config, ctx) {
      const fc = (config as { flow_control?: FlowControl }).flow_control;
      const s = new FakeSource({ ...sourceOptions, flowControl: fc ?? sourceOptions.flowControl });
      world.sources.set(ctx.name, s);
      return s;
    },
  });
  r.register({
    kind: 'sink',
    name: 'fake',
    summary: 'Test sink recording writes',
    stability: 'experimental',
    config: anyConfig,
    create(config, ctx) {
      const c = config as { durable?: boolean; manual?: boolean; fail_every?: number };
      const failEvery = c.fail_every;
      const s = new FakeSink({
        durable: c.durable ?? true,
        mode: c.manual ? 'manual' : 'auto',
        fail: failEvery === undefined ? undefined : (_b, i) => i % failEvery === failEvery - 1,
      });
      world.sinks.set(ctx.name, s);
      return s;
    },
  });
  r.register({
    kind: 'op',
    name: 'passthrough',
    summary: 'Emits each batch unchanged',
    stability: 'experimental',
    config: anyConfig,
    create: () => map((b: Batch) => b),
  });
  r.register({
    kind: 'op',
    name: 'hold',
    summary: 'Stateful: holds rows and acks until `every` batches or completion',
    stability: 'experimental',
    config: anyConfig,
    create: (config) => holdOperator((config as { every?: number }).every),
  });
  r.register({
    kind: 'op',
    name: 'drop_rows',
    summary: 'Emits a zero-row batch carrying the acks of each input batch',
    stability: 'experimental',
    config: anyConfig,
    create: () => map((b: Batch) => ({ stream: b.stream, data: idBatch([]), acks: b.acks })),
  });
  r.register({
    kind: 'op',
    name: 'merge_with',
    summary: 'Emits the batches of its input and of `right` (a second input)',
    stability: 'experimental',
    config: anyConfig,
    create(config, ctx) {
      const right = ctx.stream((config as { right: string }).right);
      return (input) =>
        new Observable<Batch>((sub) => {
          let open = 2;
          const done = (): void => {
            if (--open === 0) sub.complete();
          };
          const a = input.subscribe({ next: (b) => sub.next(b), error: (e) => sub.error(e), complete: done });
          const b = right.subscribe({ next: (x) => sub.next(x), error: (e) => sub.error(e), complete: done });
          return () => {
            a.unsubscribe();
            b.unsubscribe();
          };
        });
    },
  });
  r.register({
    kind: 'op',
    name: 'fail_at',
    summary: 'Errors on the n-th batch (1-based)',
    stability: 'experimental',
    config: anyConfig,
    create(config) {
      const at = (config as { batch: number }).batch;
      let n = 0;
      return map((b: Batch) => {
        if (++n === at) throw new Error(`fail_at: batch ${at}`);
        return b;
      });
    },
  });
  return r;
}
