/**
 * The decoder contract between a source's envelopes and the batcher: rows are written straight
 * into column builders of the declared schema; the batcher decides when to flush.
 */
import type { RecordBatch, Schema } from 'apache-arrow';

/** Reports a message or row that does not fit, with the reason and the offending text. */
export type Reject = (reason: string, payload: string) => void;

export interface Decoder {
  /** Arrow schema of the batches this decoder produces. */
  readonly schema: Schema;
  /**
   * Append the rows of one message. Rows that do not fit are passed to `reject` and not
   * appended; the others are. Returns the number of rows appended. Never throws on bad input.
   */
  decode(payload: string | Uint8Array, reject: Reject): number;
  /** Rows appended since the last flush. */
  readonly pendingRows: number;
  /** Payload bytes of the messages decoded since the last flush. */
  readonly pendingBytes: number;
  /**
   * Take the rows appended since the last flush as one record batch and start a new one.
   * Dictionary (symbol) columns carry the stream's whole dictionary so far: it only grows.
   */
  flush(): RecordBatch;
}
