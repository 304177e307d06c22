/**
 * T-4: under random arrivals, timer advances and random sink and dead-letter outcomes, no source
 * message is acked before every one of its good rows was durably written by every durable sink
 * that receives it and every rejected row is durably dead-lettered; and at the end every message
 * was settled exactly once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PipelineConfig, SourceConfig } from '../config/pipeline-config.ts';
import { VirtualClock } from './clock.ts';
import { MemoryDeadLetters } from './dead-letters.ts';
import { silentLogger } from './logger.ts';
import { createPipeline } from './runtime.ts';
import { type EmittedMessage, FakeDecoder, FakeWorld, fakeRegistry } from './testing.ts';

type Step =
  | { kind: 'push'; rows: boolean[] }
  | { kind: 'advance'; ms: number }
  | { kind: 'sink'; which: 0 | 1; ok: boolean }
  | { kind: 'dlq'; ok: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('push' as const),
      rows: fc.array(fc.boolean(), { maxLength: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 150 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('sink' as const),
      which: fc.constantFrom(0 as const, 1 as const),
      ok: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('dlq' as const), ok: fc.boolean() }) },
);

const tick = () => new Promise<void>((r) => setImmediate(r));

function source(count: number, maxInFlightRows: number): SourceConfig {
  return {
    type: 'fake',
    schema: { id: 'f64' },
    decode: { format: 'json', fields: {} },
    batch: { count, bytes: 1 << 20, period: 50 },
    backpressure: { high_water: maxInFlightRows, low_water: 1 },
  };
}

async function run(steps: Step[], count: number, holdEvery: number, highWater: number): Promise<void> {
  const world = new FakeWorld();
  const clock = new VirtualClock();
  const dlq = new MemoryDeadLetters({ manual: true });
  const good = new Map<EmittedMessage, number[]>();
  const bad = new Map<EmittedMessage, string[]>();
  const violations: string[] = [];
  const config: PipelineConfig = {
    file: '/tmp/p.yaml',
    sources: { a: source(count, highWater) },
    streams: { h: { from: 'a', ops: [{ name: 'hold', config: { every: holdEvery } }] } },
    sinks: {
      raw: { type: 'fake', from: ['a'], manual: true },
      held: { type: 'fake', from: ['h'], manual: true },
      view: { type: 'fake', from: ['a', 'h'], durable: false },
    },
    dead_letter: { path: '/tmp/unused.jsonl' },
    shutdown_timeout: 1e12,
  };
  const registry = fakeRegistry(world, {
    onAck: (m) => {
      for (const id of good.get(m) ?? []) {
        for (const sink of ['raw', 'held'])
          if (!world.sink(sink).rowIds.has(id))
            violations.push(`${m.position} acked before row ${id} reached ${sink}`);
      }
      for (const token of bad.get(m) ?? []) {
        if (!dlq.letters.some((l) => l.position === m.position && l.payload === token))
          violations.push(`${m.position} acked before dead letter ${token} was durable`);
      }
    },
  });
  const p = createPipeline(config, registry, {
    clock,
    logger: silentLogger,
    deadLetters: dlq,
    decoder: () => new FakeDecoder(),
    maxInFlight: 2,
  });
  await p.start();
  const src = world.source('a');
  const sinks = [world.sink('raw'), world.sink('held')];
  let next = 0;
  for (const s of steps) {
    if (s.kind === 'push') {
      const ids: number[] = [];
      const tokens: string[] = [];
      const parts = s.rows.map((ok) => {
        const id = next++;
        if (ok) ids.push(id);
        else tokens.push(`r${id}`);
        return ok ? `${id}` : `!r${id}`;
      });
      const payload = parts.join(',');
      const before = src.messages.length;
      const m = src.push(payload);
      good.set(m, ids);
      bad.set(m, tokens);
      expect(src.messages.length).toBe(before + 1);
    } else if (s.kind === 'advance') clock.advance(s.ms);
    else if (s.kind === 'sink') sinks[s.which].settle(s.ok);
    else dlq.settle(s.ok);
    await tick();
  }
  let stopped = false;
  const stopping = p.stop().then((r) => {
    stopped = true;
    return r;
  });
  let guard = 0;
  while (!stopped && guard++ < 10_000) {
    for (const k of sinks) k.settle(guard % 3 !== 0);
    dlq.settle(true);
    clock.advance(10);
    await tick();
  }
  const report = await stopping;
  expect(violations).toEqual([]);
  expect(report.graceful).toBe(true);
  expect(src.messages.every((m) => m.settles === 1 && m.state !== 'pending')).toBe(true);
  for (const m of src.messages) {
    if (m.state !== 'acked') continue;
    for (const id of good.get(m)!) for (const k of sinks) expect(k.rowIds.has(id)).toBe(true);
  }
}

describe('runtime acks (property)', () => {
  it('never acks a message before all its rows are durable, under random schedules', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 2, max: 20 }),
        (steps, count, holdEvery, highWater) => run(steps, count, holdEvery, highWater),
      ),
      { numRuns: 2_000 },
    );
  });
});
