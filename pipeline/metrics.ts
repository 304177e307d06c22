/**
 * Pipeline metrics on a prom-client `Registry` of its own (never the global default, so two
 * pipelines in one process or one test do not collide). Every series carries `component` (the
 * name in the config) and `kind` (`source`, `stream`, `sink`). Children are cached per component
 * so the hot path is one property lookup and an add, done per batch rather than per row.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type ComponentRole = 'source' | 'stream' | 'sink';

const PREFIX = 'polaroid_';

const COUNTERS = {
  rows_in: 'Rows decoded from a source',
  bytes_in: 'Payload bytes read from a source',
  rows_out: 'Rows written by a sink, or emitted by a source or stream',
  batches_out: 'Batches written by a sink, or emitted by a source or stream',
  dropped: 'Messages or batches dropped on purpose (lossy queue full, slow live view)',
  dead_lettered: 'Rows or messages sent to the dead-letter output',
  reconnects: 'Reconnect attempts of a source',
  gaps: 'Sequence gaps a source detected',
  stale: 'Times a source went silent for longer than its staleness limit',
  write_errors: 'Failed sink writes (the batch was nacked)',
} as const;

export type CounterName = keyof typeof COUNTERS;

/** The cached counter children of one component. */
export type ComponentCounters = Record<CounterName, Counter.Internal>;

export class PipelineMetrics {
  readonly registry: Registry;
  private readonly counters: Record<CounterName, Counter<'component' | 'kind'>>;
  private readonly queueDepth: Gauge<'component' | 'kind'>;
  private readonly connected: Gauge<'component' | 'kind'>;
  private readonly writeLatency: Histogram<'component' | 'kind'>;
  private readonly children = new Map<string, ComponentCounters>();
  private readonly opRows: Counter<'component' | 'kind' | 'event'>;
  private readonly opChildren = new Map<string, Counter.Internal>();

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const labelNames = ['component', 'kind'] as const;
    const counters = {} as Record<CounterName, Counter<'component' | 'kind'>>;
    for (const name of Object.keys(COUNTERS) as CounterName[]) {
      counters[name] = new Counter({
        name: `${PREFIX}${name}_total`,
        help: COUNTERS[name],
        labelNames,
        registers: [registry],
      });
    }
    this.counters = counters;
    this.queueDepth = new Gauge({
      name: `${PREFIX}queue_depth_rows`,
      help: 'Rows waiting in the bounded queue of a source (decoded, not yet handed downstream)',
      labelNames,
      registers: [registry],
    });
    this.connected = new Gauge({
      name: `${PREFIX}source_connected`,
      help: '1 while the source is connected, else 0',
      labelNames,
      registers: [registry],
    });
    this.opRows = new Counter({
      name: `${PREFIX}op_rows_total`,
      help: 'Rows an operator dropped or changed on purpose, by event (late_dropped, invalid, ...)',
      labelNames: ['component', 'kind', 'event'] as const,
      registers: [registry],
    });
    this.writeLatency = new Histogram({
      name: `${PREFIX}sink_write_seconds`,
      help: 'Time from a sink write call to its durable acceptance or failure',
      labelNames,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  }

  /** The counters of one component, created on first use and cached. */
  component(name: string, kind: ComponentRole): ComponentCounters {
    const key = `${kind}\u0000${name}`;
    let c = this.children.get(key);
    if (c === undefined) {
      c = {} as ComponentCounters;
      for (const n of Object.keys(COUNTERS) as CounterName[]) c[n] = this.counters[n].labels(name, kind);
      this.children.set(key, c);
    }
    return c;
  }

  /** Count rows a stream's operator dropped or changed on purpose (see ComponentContext.count). */
  countOpRows(stream: string, event: string, rows: number): void {
    const key = `${stream}\u0000${event}`;
    let c = this.opChildren.get(key);
    if (c === undefined) {
      c = this.opRows.labels(stream, 'stream', event);
      this.opChildren.set(key, c);
    }
    c.inc(rows);
  }

  setQueueDepth(source: string, rows: number): void {
    this.queueDepth.labels(source, 'source').set(rows);
  }

  setConnected(source: string, connected: boolean): void {
    this.connected.labels(source, 'source').set(connected ? 1 : 0);
  }

  observeWrite(sink: string, seconds: number): void {
    this.writeLatency.labels(sink, 'sink').observe(seconds);
  }

  /** Current value of a counter for one component (for status lines and tests). */
  async value(name: CounterName, component: string, kind: ComponentRole): Promise<number> {
    const data = await this.counters[name].get();
    for (const v of data.values)
      if (v.labels.component === component && v.labels.kind === kind) return v.value;
    return 0;
  }
}
