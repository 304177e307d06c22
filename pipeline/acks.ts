/**
 * Acknowledgement plumbing: the delivery rule of DESIGN.md in code.
 *
 * A source hands out one {@link AckHandle} per envelope (or per contiguous run of envelopes).
 * Batches carry an {@link AckSet} of all their rows' handles. A sink settles the set only after
 * the data is durably accepted; stateful operators hold the sets of the rows they absorbed until
 * the state containing them is emitted and delivered.
 */

/** What a source gets back for a row: released (`ack`) or refused (`nack`, redeliver if possible). */
export interface AckHandle {
  ack(): void;
  nack(reason: Error): void;
}

/** A handle that does nothing: for sources that cannot replay and for tests. */
export const NOOP_ACK: AckHandle = Object.freeze({ ack() {}, nack() {} });

type SetState = 'open' | 'acked' | 'nacked';

/**
 * The acknowledgement handles of a batch. Settling is idempotent: the first `ack` or `nack`
 * wins. With {@link AckSet.fork} a set can be delivered to several durable sinks: it acks only
 * when every fork acked, and nacks as soon as one fork nacks.
 */
export class AckSet {
  private readonly handles: AckHandle[];
  private readonly children: AckSet[];
  private state: SetState = 'open';
  private pendingForks = 0;
  private forkNacked = false;

  constructor(handles: AckHandle[] = [], children: AckSet[] = []) {
    this.handles = handles;
    this.children = children;
  }

  /** An empty set: acking it releases nothing. */
  static empty(): AckSet {
    return new AckSet();
  }

  /** A set that settles all the given sets together (for operators that combine batches). */
  static merge(sets: readonly AckSet[]): AckSet {
    return new AckSet([], sets.slice());
  }

  /** Number of direct handles plus those of merged sets (for metrics and tests). */
  get size(): number {
    let n = this.handles.length;
    for (const c of this.children) n += c.size;
    return n;
  }

  get settled(): boolean {
    return this.state !== 'open';
  }

  get outcome(): SetState {
    return this.state;
  }

  add(handle: AckHandle): void {
    if (this.state !== 'open') throw new Error('cannot add a handle to a settled AckSet');
    this.handles.push(handle);
  }

  ack(): void {
    if (this.state !== 'open') return;
    this.state = 'acked';
    for (const h of this.handles) h.ack();
    for (const c of this.children) c.ack();
  }

  nack(reason: Error): void {
    if (this.state !== 'open') return;
    this.state = 'nacked';
    for (const h of this.handles) h.nack(reason);
    for (const c of this.children) c.nack(reason);
  }

  /**
   * Split this set into `n` views, one per durable sink. The underlying handles are acked once
   * all `n` views acked; the first nack nacks them at once.
   */
  fork(n: number): AckSet[] {
    if (n === 1) return [this];
    if (n === 0) {
      this.ack();
      return [];
    }
    this.pendingForks += n;
    const views: AckSet[] = [];
    for (let i = 0; i < n; i++) {
      views.push(
        new AckSet([
          {
            ack: () => {
              this.pendingForks--;
              if (this.pendingForks === 0 && !this.forkNacked) this.ack();
            },
            nack: (reason: Error) => {
              this.forkNacked = true;
              this.nack(reason);
            },
          },
        ]),
      );
    }
    return views;
  }
}
