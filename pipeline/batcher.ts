/**
 * The micro-batcher: envelopes in, Arrow batches out, one policy shape `{count, bytes, period}`
 * with Benthos semantics. A batch is flushed after the message that makes the pending rows reach
 * `count` or the pending payload bytes reach `bytes` (so a batch may exceed `count` by the rows of
 * its last message), or when `period` has passed since the last flush. The period timer runs on
 * the injected scheduler; when it fires with nothing pending no empty batch is made, and the next
 * message that brings rows flushes at once (as Benthos does after an idle gap). `close()` flushes
 * what is pending.
 *
 * Every batch carries an {@link AckSet} of the handles of the messages whose rows it holds. Rows
 * the decoder rejects become dead letters; the message's handle is then split so it acks only
 * when both its good rows' batch was delivered and its dead letters are durable.
 */
import type { Subscription } from 'rxjs';
import type { BatchPolicy } from '../config/common.ts';
import { type AckHandle, AckSet } from './acks.ts';
import type { Decoder } from './decode/decoder.ts';
import { DeadLetterWriteError } from './errors.ts';
import type { Batch, Clock, DeadLetter, DeadLetters, Envelope } from './types.ts';

class SplitState {
  remaining: number;
  done = false;
  constructor(
    readonly target: AckHandle,
    parts: number,
  ) {
    this.remaining = parts;
  }
}

class SplitPart implements AckHandle {
  private settled = false;
  constructor(private readonly state: SplitState) {}
  ack(): void {
    if (this.settled) return;
    this.settled = true;
    const s = this.state;
    if (s.done) return;
    if (--s.remaining === 0) {
      s.done = true;
      s.target.ack();
    }
  }
  nack(reason: Error): void {
    if (this.settled) return;
    this.settled = true;
    const s = this.state;
    if (s.done) return;
    s.done = true;
    s.target.nack(reason);
  }
}

/**
 * Split one handle into `parts` handles (a reference count): the target is acked once every part
 * acked, and nacked as soon as one part nacks. Each part is idempotent.
 */
export function splitAck(target: AckHandle, parts: number): AckHandle[] {
  if (parts < 1) throw new RangeError('splitAck needs at least one part');
  if (parts === 1) return [target];
  const state = new SplitState(target, parts);
  const out: AckHandle[] = [];
  for (let i = 0; i < parts; i++) out.push(new SplitPart(state));
  return out;
}

/** What the batcher reports besides batches (wired to metrics and logs by the runtime). */
export interface BatcherHooks {
  /** Rows or messages sent to the dead-letter output. */
  deadLettered?(count: number): void;
  /** A dead-letter write failed; the message was nacked. */
  deadLetterFailed?(error: Error, position: string): void;
  /** Messages that brought no rows and no rejects (filtered), acked at once. */
  skipped?(count: number): void;
}

export interface BatcherOptions {
  /** Source or stream name, stamped on batches and dead letters. */
  stream: string;
  decoder: Decoder;
  policy: BatchPolicy;
  clock: Clock;
  deadLetters: DeadLetters;
  hooks?: BatcherHooks;
}

/** Receives each flushed batch with the payload bytes of the messages in it. */
export type BatchOutput = (batch: Batch, bytes: number) => void;

export class Batcher {
  private readonly stream: string;
  private readonly decoder: Decoder;
  private readonly policy: BatchPolicy;
  private readonly clock: Clock;
  private readonly deadLetters: DeadLetters;
  private readonly hooks: BatcherHooks;
  private readonly out: BatchOutput;
  private acks = new AckSet();
  private timer: Subscription | undefined;
  /** The period elapsed while nothing was pending: the next rows flush at once. */
  private overdue = false;
  private closed = false;
  private current: Envelope | undefined;
  private rejects: DeadLetter[] | undefined;
  private readonly onReject = (reason: string, payload: string): void => {
    const env = this.current!;
    const letter = { source: this.stream, position: env.position, reason, payload, at: this.clock.now() };
    if (this.rejects === undefined) this.rejects = [letter];
    else this.rejects.push(letter);
  };

  constructor(options: BatcherOptions, out: BatchOutput) {
    this.stream = options.stream;
    this.decoder = options.decoder;
    this.policy = options.policy;
    this.clock = options.clock;
    this.deadLetters = options.deadLetters;
    this.hooks = options.hooks ?? {};
    this.out = out;
    this.arm();
  }

  /** Rows decoded and not yet flushed. */
  get pendingRows(): number {
    return this.decoder.pendingRows;
  }

  get pendingBytes(): number {
    return this.decoder.pendingBytes;
  }

  /** Decode one message into the pending batch; flushes when a limit is reached. */
  push(env: Envelope): void {
    if (this.closed) {
      env.ack.nack(new Error(`batcher of ${this.stream} is closed`));
      return;
    }
    this.current = env;
    this.rejects = undefined;
    let rows: number;
    let threw = false;
    try {
      rows = this.decoder.decode(env.payload, this.onReject);
    } catch (e) {
      threw = true;
      rows = 0;
      this.onReject(
        `decoder failed: ${e instanceof Error ? e.message : String(e)}`,
        payloadText(env.payload),
      );
    }
    this.current = undefined;
    const rejects = this.rejects;
    this.rejects = undefined;
    // A decoder that threw may have appended some rows: keep the handle on the batch too.
    const inBatch = rows > 0 || threw;
    if (rejects === undefined) {
      if (inBatch) this.acks.add(env.ack);
      else {
        env.ack.ack();
        this.hooks.skipped?.(1);
      }
    } else {
      const parts = splitAck(env.ack, inBatch ? 2 : 1);
      if (inBatch) this.acks.add(parts[1]);
      this.writeDeadLetters(rejects, parts[0], env.position);
    }
    const d = this.decoder;
    if (d.pendingRows >= this.policy.count || d.pendingBytes >= this.policy.bytes) this.flush();
    else if (this.overdue && d.pendingRows > 0) this.flush();
  }

  /** Emit the pending rows as a batch now (nothing is emitted when no rows are pending). */
  flush(): void {
    const d = this.decoder;
    this.overdue = false;
    if (d.pendingRows === 0) {
      if (d.pendingBytes > 0) d.flush();
      this.arm();
      return;
    }
    const bytes = d.pendingBytes;
    const acks = this.acks;
    this.acks = new AckSet();
    const data = d.flush();
    this.arm();
    this.out({ stream: this.stream, data, acks }, bytes);
  }

  /** Flush what is pending and stop the timer; later pushes are nacked. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.timer?.unsubscribe();
    this.timer = undefined;
  }

  private arm(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
    if (this.closed || !(this.policy.period > 0) || !Number.isFinite(this.policy.period)) return;
    this.timer = this.clock.scheduler.schedule(() => this.onPeriod(), this.policy.period);
  }

  private onPeriod(): void {
    this.timer = undefined;
    if (this.decoder.pendingRows > 0) this.flush();
    else this.overdue = true;
  }

  private writeDeadLetters(letters: DeadLetter[], part: AckHandle, position: string): void {
    this.hooks.deadLettered?.(letters.length);
    const writes =
      letters.length === 1
        ? this.deadLetters.write(letters[0])
        : Promise.all(letters.map((l) => this.deadLetters.write(l)));
    writes.then(
      () => part.ack(),
      (e: unknown) => {
        const err =
          e instanceof Error ? e : new DeadLetterWriteError('dead-letter write failed', { cause: e });
        this.hooks.deadLetterFailed?.(err, position);
        part.nack(err);
      },
    );
  }
}

function payloadText(p: string | Uint8Array): string {
  return typeof p === 'string' ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('utf8');
}
