/**
 * The contracts every component is written against: envelopes from sources, Arrow batches with
 * their acks, sinks, operators and the context a component is built with.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import type { Observable, OperatorFunction, SchedulerLike } from 'rxjs';
import type { AckHandle, AckSet } from './acks.ts';

/** One message from a source, before decoding. */
export interface Envelope {
  /** Raw payload: a text frame, or bytes (Kafka value, AMQP body). */
  payload: string | Uint8Array;
  /** Receive time in epoch milliseconds, from the injected clock. Never used as event time. */
  receivedAt: number;
  /** Released after every output derived from this message is durably accepted. */
  ack: AckHandle;
  /** Where the message came from, for dead letters: e.g. `ws seq=1042`, `kafka t/3@1200`. */
  position: string;
}

/**
 * How a source is slowed down when the bounded queue behind it is full (DESIGN.md, Data path).
 * `pausable`: pause()/resume(); `prefetch`: the broker limits unacked deliveries;
 * `poll`: the next poll waits; `lossy`: drops are counted, never silent.
 */
export type FlowControl = 'pausable' | 'prefetch' | 'poll' | 'lossy';

/** Events a source reports besides data (gaps, reconnects, staleness), for metrics and logs. */
export type SourceEvent =
  | { kind: 'connected' }
  | { kind: 'disconnected'; reason: string }
  | { kind: 'reconnecting'; attempt: number; delayMs: number }
  | { kind: 'gap'; scope: string; expected: number; got: number }
  | { kind: 'stale'; silentMs: number }
  | { kind: 'dropped'; count: number; reason: string };

/** A running source. The runtime owns the queue, reconnect policy and shutdown. */
export interface Source {
  readonly flowControl: FlowControl;
  /** Start producing. Envelopes go to `emit`; events to `event`. Resolves once started. */
  start(emit: (env: Envelope) => void, event: (e: SourceEvent) => void): Promise<void>;
  /** Stop taking new input (flow control). Only called for `pausable` sources. */
  pause(): void;
  resume(): void;
  /** Whether the source is connected now (readiness). */
  isConnected(): boolean;
  /** Stop for good: no more `emit` calls after this resolves. */
  stop(): Promise<void>;
}

/** Column types a schema can declare (`schema:` in YAML). */
export type ColumnType = 'timestamp' | 'symbol' | 'f64' | 'i64' | 'bool' | 'utf8';

/**
 * Timestamps are Arrow `Timestamp(MICROSECOND, "UTC")` everywhere: µs fits QuestDB and stays
 * exact in float64 arithmetic up to the year 2255, so kernels can work on Float64Array.
 */
export const TIMESTAMP_UNIT = 'us';

/** An Arrow record batch flowing through the pipeline with the acks of its rows. */
export interface Batch {
  /** Name of the source or stream that produced it. */
  readonly stream: string;
  readonly data: RecordBatch;
  readonly acks: AckSet;
}

/** A pipeline operator: what `ops:` entries build. Stateful ones keep state across batches. */
export type BatchOperator = OperatorFunction<Batch, Batch>;

/** A running sink. `write` resolves when the batch is durably accepted (or rejects). */
export interface Sink {
  /** Whether resolving `write` means durable acceptance (QuestDB, Kafka, files) or a live view. */
  readonly durable: boolean;
  write(batch: Batch): Promise<void>;
  /** Flush buffered data and release resources. */
  close(): Promise<void>;
}

/** A place for rows or messages that cannot be processed, written durably with a reason. */
export interface DeadLetters {
  /** Resolves once the letter is durable; the source's ack waits for it. */
  write(letter: DeadLetter): Promise<void>;
}

export interface DeadLetter {
  source: string;
  position: string;
  reason: string;
  /** The offending payload, as text when it is text. */
  payload: string;
  at: number;
}

/** Minimal structured logger; secrets must never be passed to it. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Time, injected: wall-clock milliseconds and an RxJS scheduler for timers. */
export interface Clock {
  now(): number;
  scheduler: SchedulerLike;
}

/** What a component factory receives besides its own config. */
export interface ComponentContext {
  /** The component's name in the config (`sources.trades` → `trades`). */
  name: string;
  /** The config file, for resolving relative paths. */
  configDir: string;
  clock: Clock;
  logger: Logger;
  deadLetters: DeadLetters;
  /** Another stream's output, for operators with a second input (asof_join `right:`). */
  stream(name: string): Observable<Batch>;
  /** Arrow schema of another stream, known once the pipeline is built. */
  schemaOf(name: string): Schema | undefined;
  /**
   * Count rows an operator dropped or changed on purpose (`late_dropped`, `invalid`,
   * `right_evicted`, ...), exported as `polaroid_op_rows_total{component, event}` so no drop is
   * silent. Absent where nothing collects metrics (unit tests).
   */
  count?(event: string, rows: number): void;
}
