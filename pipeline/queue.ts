/**
 * The one bounded queue per source: the bridge between a push-based source and the RxJS graph.
 *
 * A source's messages are decoded into the batcher as they arrive; finished batches wait here
 * until the pipeline downstream has room (the durable sinks fed by this source have fewer than
 * `maxInFlight` writes pending). The depth is the rows decoded and not yet handed downstream
 * (the batcher's pending rows plus the queued batches), and the payload bytes of the same.
 *
 * How the source is slowed down depends on its declared flow control:
 * - `pausable`: `pause()` when the depth reaches the high water mark, `resume()` once it is at or
 *   below the low water mark. Messages already in flight when pausing are still accepted.
 * - `lossy`: while the depth is at or above the high water mark new messages are dropped: each is
 *   nacked, counted (`dropped` metric) and reported through `onDrop`; never silent.
 * - `prefetch` (AMQP `basic.qos`): the broker stops delivering once `prefetch` messages are
 *   unacked, and acks only follow durable writes, so the queue is bounded by the prefetch window.
 * - `poll` (REST): the source waits for its previous poll's rows to be acked before polling
 *   again, so at most one poll's worth of rows is queued.
 * For `prefetch` and `poll` the queue never pauses or drops; its depth is still reported.
 */
import type { Batch, FlowControl } from './types.ts';

export interface QueueOptions {
  flowControl: FlowControl;
  highWaterRows: number;
  lowWaterRows: number;
  /** Byte limits on queued payload bytes (default: unlimited). */
  highWaterBytes?: number;
  lowWaterBytes?: number;
  /** Rows decoded but not yet flushed into a batch (the batcher's pending part). */
  stagedRows?: () => number;
  /** Payload bytes of the same. */
  stagedBytes?: () => number;
}

/** What the queue calls on the source and the runtime. */
export interface QueueControl {
  pause(): void;
  resume(): void;
  /** A lossy source's message was dropped because the queue was full. */
  onDrop?(count: number): void;
  onDepth?(rows: number): void;
}

const zero = (): number => 0;

interface Entry {
  batch: Batch;
  rows: number;
  bytes: number;
}

export class SourceQueue {
  private readonly entries: Entry[] = [];
  private head = 0;
  private rows = 0;
  private bytes = 0;
  private isPaused = false;
  private readonly highRows: number;
  private readonly lowRows: number;
  private readonly highBytes: number;
  private readonly lowBytes: number;
  private readonly stagedRows: () => number;
  private readonly stagedBytes: () => number;
  private dropCount = 0;

  constructor(
    private readonly options: QueueOptions,
    private readonly control: QueueControl,
  ) {
    if (!(options.lowWaterRows < options.highWaterRows))
      throw new RangeError('low water must be below high water');
    this.highRows = options.highWaterRows;
    this.lowRows = options.lowWaterRows;
    this.highBytes = options.highWaterBytes ?? Number.POSITIVE_INFINITY;
    this.lowBytes =
      options.lowWaterBytes ?? (Number.isFinite(this.highBytes) ? this.highBytes / 2 : this.highBytes);
    this.stagedRows = options.stagedRows ?? zero;
    this.stagedBytes = options.stagedBytes ?? zero;
  }

  /** Rows decoded and not yet handed downstream. */
  get depthRows(): number {
    return this.rows + this.stagedRows();
  }

  get depthBytes(): number {
    return this.bytes + this.stagedBytes();
  }

  /** Batches waiting. */
  get length(): number {
    return this.entries.length - this.head;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /** Messages dropped so far (lossy sources). */
  get dropped(): number {
    return this.dropCount;
  }

  /**
   * Whether a newly pushed message may be decoded. Only a lossy source above its high water mark
   * is refused; the refusal is counted here.
   */
  admit(): boolean {
    if (this.options.flowControl !== 'lossy' || !this.full()) return true;
    this.dropCount++;
    this.control.onDrop?.(1);
    return false;
  }

  /** Re-check the water marks after the staged part grew (a message was decoded). */
  check(): void {
    if (this.options.flowControl === 'pausable') {
      if (!this.isPaused && this.full()) {
        this.isPaused = true;
        this.control.pause();
      } else if (this.isPaused && this.low()) {
        this.isPaused = false;
        this.control.resume();
      }
    }
  }

  push(batch: Batch, bytes: number): void {
    const rows = batch.data.numRows;
    this.entries.push({ batch, rows, bytes });
    this.rows += rows;
    this.bytes += bytes;
    this.check();
    this.control.onDepth?.(this.depthRows);
  }

  shift(): Batch | undefined {
    if (this.head >= this.entries.length) return undefined;
    const e = this.entries[this.head];
    this.entries[this.head] = undefined as unknown as Entry;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
    this.rows -= e.rows;
    this.bytes -= e.bytes;
    this.check();
    this.control.onDepth?.(this.depthRows);
    return e.batch;
  }

  private full(): boolean {
    return this.depthRows >= this.highRows || this.depthBytes >= this.highBytes;
  }

  private low(): boolean {
    return this.depthRows <= this.lowRows && this.depthBytes <= this.lowBytes;
  }
}
