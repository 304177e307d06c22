/**
 * Rows an operator drops on purpose reach the pipeline's metrics: a late trade dropped by
 * resample_ohlcv inside a running pipeline shows up as polaroid_op_rows_total.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { zSourceCommon } from '../config/common.ts';
import { validateConfigText } from '../config/load.ts';
import { Registry } from '../config/registry.ts';
import { VirtualClock } from '../pipeline/clock.ts';
import { MemoryDeadLetters } from '../pipeline/dead-letters.ts';
import { silentLogger } from '../pipeline/logger.ts';
import { createPipeline } from '../pipeline/runtime.ts';
import { FakeSink, FakeSource } from '../pipeline/testing.ts';
import { registerResample } from './resample-op.ts';

const YAML = `
sources:
  trades:
    type: pushed
    schema: { ts: timestamp, symbol: symbol, price: f64, size: f64 }
    decode: { timestamp: { field: ts, unit: ms } }
    batch: { count: 1 }
streams:
  bars:
    from: trades
    ops:
      - resample_ohlcv: { every: 1m, by: [symbol] }
sinks:
  out: { type: fake, from: bars }
`;

describe('operator drop counters', () => {
  it('exports late rows dropped by resample_ohlcv as polaroid_op_rows_total', async () => {
    let src: FakeSource | undefined;
    const sink = new FakeSink({ durable: true, mode: 'auto' });
    const registry = new Registry();
    registry.register({
      kind: 'source',
      name: 'pushed',
      summary: 'Messages pushed by the test',
      stability: 'experimental',
      config: z.strictObject({ ...zSourceCommon }),
      create: () => {
        src = new FakeSource();
        return src;
      },
    });
    registry.register({
      kind: 'sink',
      name: 'fake',
      summary: 'Records writes',
      stability: 'experimental',
      config: z.strictObject({}),
      create: () => sink,
    });
    registerResample(registry);
    const { config, issues } = validateConfigText(YAML, '/tmp/op-metrics.yaml', registry, {});
    expect(issues).toEqual([]);
    const p = createPipeline(config!, registry, {
      clock: new VirtualClock(0),
      logger: silentLogger,
      deadLetters: new MemoryDeadLetters(),
    });
    await p.start();
    const t0 = Date.UTC(2026, 0, 5, 10);
    for (const [dt, price] of [
      [10_000, 1],
      [70_000, 2],
      [5_000, 3],
      [80_000, 4],
      [130_000, 5],
    ])
      src!.push(JSON.stringify({ ts: t0 + dt, symbol: 'BTC-USD', price, size: 1 }));
    await new Promise((r) => setTimeout(r, 50));
    const text = await p.metrics.metrics();
    expect(text).toContain('polaroid_op_rows_total{component="bars",kind="stream",event="late_dropped"} 1');
    expect(sink.written.reduce((n, b) => n + b.data.numRows, 0)).toBe(2);
    await p.stop();
  });
});
