import { Registry, register } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PipelineMetrics } from './metrics.ts';

describe('PipelineMetrics', () => {
  it('counts per component and kind on its own registry, not the global one', async () => {
    const m = new PipelineMetrics();
    const before = (await register.getMetricsAsJSON()).length;
    const c = m.component('trades', 'source');
    c.rows_in.inc(10);
    c.rows_in.inc(5);
    m.component('store', 'sink').rows_out.inc(7);
    expect(m.component('trades', 'source')).toBe(c);
    expect(await m.value('rows_in', 'trades', 'source')).toBe(15);
    expect(await m.value('rows_out', 'store', 'sink')).toBe(7);
    expect(await m.value('rows_out', 'trades', 'source')).toBe(0);
    expect((await register.getMetricsAsJSON()).length).toBe(before);
    const text = await m.registry.metrics();
    expect(text).toContain('polaroid_rows_in_total{component="trades",kind="source"} 15');
  });

  it('exposes queue depth, connection and sink write latency', async () => {
    const reg = new Registry();
    const m = new PipelineMetrics(reg);
    m.setQueueDepth('trades', 42);
    m.setConnected('trades', true);
    m.observeWrite('store', 0.02);
    const text = await reg.metrics();
    expect(text).toContain('polaroid_queue_depth_rows{component="trades",kind="source"} 42');
    expect(text).toContain('polaroid_source_connected{component="trades",kind="source"} 1');
    expect(text).toContain('polaroid_sink_write_seconds_count{component="store",kind="sink"} 1');
    expect(text).toContain('polaroid_sink_write_seconds_bucket{le="0.025",component="store",kind="sink"} 1');
  });
});
