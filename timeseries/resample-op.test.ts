import { asyncScheduler, from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { Registry } from '../config/registry.ts';
import { AckSet } from '../pipeline/acks.ts';
import type { Batch, ComponentContext } from '../pipeline/types.ts';
import { dictionaryVector, float64Vector, recordBatchFromVectors, timestampVector } from './arrow.ts';
import { registerResample, resampleOhlcvSpec } from './resample-op.ts';

const T0 = Date.UTC(2024, 0, 2) * 1000;

const ctx = {
  name: 'bars_1m',
  configDir: '.',
  clock: { now: () => 0, scheduler: asyncScheduler },
} as unknown as ComponentContext;

describe('resample_ohlcv op spec', () => {
  it('registers once under its name', () => {
    const r = new Registry();
    registerResample(r);
    expect(r.op('resample_ohlcv')).toBe(resampleOhlcvSpec);
    expect(() => registerResample(r)).toThrow(/already registered/);
  });

  it('describes every field', () => {
    const schema = z.toJSONSchema(resampleOhlcvSpec.config, { io: 'input' }) as {
      properties: Record<string, { description?: string }>;
    };
    const names = Object.keys(schema.properties);
    expect(names).toEqual(
      expect.arrayContaining([
        'every',
        'by',
        'fill',
        'allowed_lateness',
        'late',
        'provisional',
        'idle_timeout',
      ]),
    );
    for (const n of names) expect(schema.properties[n].description, n).toBeTruthy();
  });

  it('parses its examples and applies defaults', () => {
    for (const ex of resampleOhlcvSpec.examples ?? []) {
      const r = resampleOhlcvSpec.config.safeParse(parse(ex.yaml));
      expect(r.success, ex.title).toBe(true);
    }
    expect(resampleOhlcvSpec.config.parse({ every: '1m' })).toMatchObject({
      closed: 'left',
      label: 'left',
      align: 'calendar',
      fill: 'none',
      price: 'price',
      size: 'size',
      allowed_lateness: 0,
      late: 'drop',
      include_first_last_ts: false,
    });
  });

  it('rejects unknown keys and impossible windows with the field path', () => {
    const issues = (v: unknown) => {
      const r = resampleOhlcvSpec.config.safeParse(v);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues({ every: '1m', evry: '1m' }).join()).toMatch(/evry/);
    expect(issues({ every: '1d12h' }).join()).toMatch(/^every: .*hours/);
    expect(issues({ every: '1m', time_zone: 'Nowhere/City' }).join()).toMatch(/^time_zone: .*IANA/);
    expect(issues({ every: '1mo', align: 'first_observation' }).join()).toMatch(/^every: /);
    expect(issues({ every: '1m', fill: 'forward' })).not.toEqual([]);
  });

  it('creates the streaming operator', async () => {
    const config = resampleOhlcvSpec.config.parse({
      every: '1m',
      by: ['symbol'],
      include_first_last_ts: true,
    });
    const data = recordBatchFromVectors({
      ts: timestampVector(new Float64Array([T0, T0 + 30e6, T0 + 61e6])),
      symbol: dictionaryVector(new Int32Array([0, 0, 0]), ['BTC-USD']),
      price: float64Vector(new Float64Array([10, 11, 12])),
      size: float64Vector(new Float64Array([1, 1, 2])),
    });
    const input: Batch = { stream: 'trades', data, acks: AckSet.empty() };
    const out = await lastValueFrom(from([input]).pipe(resampleOhlcvSpec.create(config, ctx), toArray()));
    const rows = out.flatMap((b) => b.data.toArray().map((r) => r.toJSON()));
    expect(rows.map((r) => [r.symbol, r.open, r.close, Number(r.trades), r.first_ts])).toEqual([
      ['BTC-USD', 10, 11, 2, T0 / 1000],
      ['BTC-USD', 12, 12, 1, T0 / 1000 + 61_000],
    ]);
  });
});
