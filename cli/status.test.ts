import { describe, expect, it } from 'vitest';
import type { PipelineStatus, SinkStatus, SourceStatus } from '../pipeline/runtime.ts';
import { compact, statusLine } from './status.ts';

function source(name: string, fields: Partial<SourceStatus> = {}): SourceStatus {
  return {
    name,
    connected: true,
    paused: false,
    rows: 0,
    rowsPerSec: 0,
    bytes: 0,
    batches: 0,
    gaps: 0,
    drops: 0,
    deadLettered: 0,
    reconnects: 0,
    queueRows: 0,
    inFlight: 0,
    ...fields,
  };
}

function sink(name: string, fields: Partial<SinkStatus> = {}): SinkStatus {
  return { name, durable: true, batches: 0, rows: 0, failures: 0, pending: 0, dropped: 0, ...fields };
}

describe('status line', () => {
  it('shows rate and batches per source, and problems only when there are some', () => {
    const s: PipelineStatus = {
      state: 'running',
      ready: true,
      sources: [
        source('trades', { rowsPerSec: 12_345, batches: 120 }),
        source('quotes', { rowsPerSec: 800.4, batches: 95, gaps: 2, drops: 31, connected: false }),
      ],
      sinks: [sink('files', { failures: 1, pending: 3 }), sink('screen', { pending: 1 })],
    };
    expect(statusLine(s)).toBe(
      'trades 12.3k rows/s 120 batches │ quotes 800 rows/s 95 batches DOWN 2 gaps 31 drops │ files 1 failed writes 3 pending',
    );
  });

  it('names the state when the pipeline is not running', () => {
    const s: PipelineStatus = { state: 'stopping', ready: false, sources: [source('t')], sinks: [] };
    expect(statusLine(s)).toBe('STOPPING │ t 0 rows/s 0 batches');
  });

  it.each([
    [999, '999'],
    [12_345, '12.3k'],
    [2_500_000, '2.5M'],
    [3e9, '3.0G'],
  ])('compact(%d) = %s', (n, text) => {
    expect(compact(n)).toBe(text);
  });
});
