// biome-ignore-all lint/suspicious/noTemplateCurlyInString: examples show the ${VAR} syntax
/**
 * A small registry of fake components for config tests: one source with a few typed fields, two
 * sinks, and three operators (one with a second input on `right:`).
 */
import { map } from 'rxjs';
import { z } from 'zod';
import { zBytes, zCalendarDuration, zDurationMs, zSourceCommon } from '../../config/common.ts';
import { Registry } from '../../config/registry.ts';
import type { Batch, Sink, Source } from '../../pipeline/types.ts';

/** A source that never emits: enough for config tests, which never start it. */
function idleSource(): Source {
  let connected = false;
  return {
    flowControl: 'pausable',
    async start() {
      connected = true;
    },
    pause() {},
    resume() {},
    isConnected: () => connected,
    async stop() {
      connected = false;
    },
  };
}

/** A sink keeping what it receives. */
function memorySink(): Sink & { batches: Batch[] } {
  const batches: Batch[] = [];
  return {
    durable: false,
    batches,
    async write(batch) {
      batches.push(batch);
    },
    async close() {},
  };
}

export function fakeRegistry(): Registry {
  const r = new Registry();
  r.register({
    kind: 'source',
    name: 'feed',
    summary: 'A fake feed',
    stability: 'experimental',
    config: z.strictObject({
      url: z.string().min(1).describe('Where to connect'),
      max_in_flight: z.number().int().positive().default(8).describe('Unacked messages at most'),
      mode: z.enum(['fast', 'safe']).default('safe').describe('Delivery mode'),
      password: z.string().optional().describe('Password'),
      heartbeat: zDurationMs.default(10_000).describe('Heartbeat interval'),
      compress: z.boolean().default(false).describe('Compress frames'),
      ...zSourceCommon,
    }),
    examples: [
      { title: 'Minimal', yaml: 'url: ws://127.0.0.1:1/x\nschema: { ts: timestamp, price: f64 }\n' },
      { title: 'From the environment', yaml: 'type: feed\nurl: ${FEED_URL}\nschema: { ts: timestamp }\n' },
    ],
    create: () => idleSource(),
  });
  r.register({
    kind: 'sink',
    name: 'memory',
    summary: 'Keeps batches in memory',
    stability: 'stable',
    config: z.strictObject({ label: z.string().optional().describe('A label') }),
    examples: [{ title: 'Default', yaml: 'label: test\n' }],
    create: () => memorySink(),
  });
  r.register({
    kind: 'sink',
    name: 'file',
    summary: 'Writes a file',
    stability: 'beta',
    config: z.strictObject({
      path: z.string().min(1).describe('Output file'),
      max_bytes: zBytes.default(1 << 20).describe('Rotate after this many bytes'),
    }),
    create: () => memorySink(),
  });
  r.register({
    kind: 'op',
    name: 'scale',
    summary: 'Multiplies a column',
    stability: 'stable',
    config: z.strictObject({
      column: z.string().min(1).describe('Column to scale'),
      factor: z.number().default(1).describe('Multiplier'),
    }),
    examples: [{ title: 'Double', yaml: 'column: price\nfactor: 2\n' }],
    create: () => map((b: Batch) => b),
  });
  r.register({
    kind: 'op',
    name: 'window',
    summary: 'Buckets by time',
    stability: 'beta',
    config: z.strictObject({
      every: zCalendarDuration.describe('Bucket width'),
      by: z.array(z.string()).default([]).describe('Key columns'),
    }),
    create: () => map((b: Batch) => b),
  });
  r.register({
    kind: 'op',
    name: 'join',
    summary: 'Joins another stream',
    stability: 'experimental',
    config: z.strictObject({
      right: z.string().min(1).describe('The other source or stream'),
      on: z.string().default('ts').describe('Time column'),
    }),
    create: () => map((b: Batch) => b),
  });
  return r;
}
