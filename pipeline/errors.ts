/**
 * Errors. Every error Polaroid raises is a {@link PolaroidError}: it has a stable `code`, says
 * whether retrying (or redelivering the rows) can help, and is named after its class. The
 * runtime's own errors follow the base class.
 */

export abstract class PolaroidError extends Error {
  abstract readonly code: string;
  abstract readonly retriable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A lossy source pushed while its queue was full: the message was dropped (and counted). */
export class QueueFullError extends PolaroidError {
  readonly code = 'POLAROID_QUEUE_FULL';
  readonly retriable = true;
}

/** Rows still in flight when the shutdown deadline passed: nacked so they can be redelivered. */
export class ShutdownAbandonedError extends PolaroidError {
  readonly code = 'POLAROID_SHUTDOWN_ABANDONED';
  readonly retriable = true;
}

/** A dead letter could not be made durable: the message is nacked, never acked. */
export class DeadLetterWriteError extends PolaroidError {
  readonly code = 'POLAROID_DEAD_LETTER_WRITE';
  readonly retriable = true;
}

/** The config names a component type that no registered spec provides. */
export class UnknownComponentError extends PolaroidError {
  readonly code = 'POLAROID_UNKNOWN_COMPONENT';
  readonly retriable = false;
}

/** A name given to the runtime (a stream for `batches()`, `ctx.stream()`) does not exist. */
export class UnknownStreamError extends PolaroidError {
  readonly code = 'POLAROID_UNKNOWN_STREAM';
  readonly retriable = false;
}

/** An operator chain failed; the stream stops and the pipeline is no longer ready. */
export class OperatorFailedError extends PolaroidError {
  readonly code = 'POLAROID_OPERATOR_FAILED';
  readonly retriable = false;
}

/** The pipeline was used in the wrong state (started twice, batches() after stop). */
export class PipelineStateError extends PolaroidError {
  readonly code = 'POLAROID_PIPELINE_STATE';
  readonly retriable = false;
}
