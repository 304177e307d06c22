import { Table } from 'apache-arrow';
import { Subject } from 'rxjs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { Registry } from '../config/registry.ts';
import { AckSet } from '../pipeline/acks.ts';
import { VirtualClock } from '../pipeline/clock.ts';
import type { Batch, ComponentContext } from '../pipeline/types.ts';
import { float64Vector, tableFromVectors, timestampVector } from './arrow.ts';
import { asofJoinSpec, registerAsof, zAsofJoinConfig } from './asof-op.ts';
import { rowsOf } from './asof-testing.ts';
import { kernelModes, useKernels } from './kernels/native-testing.ts';

describe('asof_join op spec', () => {
  it('registers under asof_join and parses its examples', () => {
    const r = new Registry();
    registerAsof(r);
    expect(r.op('asof_join')).toBe(asofJoinSpec);
    for (const ex of asofJoinSpec.examples ?? []) {
      const res = zAsofJoinConfig.safeParse(parse(ex.yaml));
      expect(res.success, `${ex.title}: ${res.error?.message}`).toBe(true);
    }
  });
  it('fills defaults and describes every field', () => {
    const c = zAsofJoinConfig.parse({ right: 'quotes', on: 'ts' });
    expect(c).toMatchObject({
      strategy: 'backward',
      allow_exact_matches: true,
      suffix: '_right',
      max_right_rows_per_key: 100_000,
      emit: 'final',
    });
    const schema = z.toJSONSchema(zAsofJoinConfig, { io: 'input' }) as {
      properties: Record<string, { description?: string }>;
      additionalProperties: boolean;
    };
    expect(schema.additionalProperties).toBe(false);
    for (const [k, p] of Object.entries(schema.properties)) expect(p.description, k).toBeTruthy();
  });
  it('rejects unknown keys and inconsistent options with their path', () => {
    const issues = (v: unknown) =>
      zAsofJoinConfig.safeParse(v).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(issues({ right: 'q', on: 'ts', tolerence: '1s' }).join()).toMatch(/tolerence/);
    expect(issues({ right: 'q' })).toEqual(['on: give on, or both left_on and right_on']);
    expect(issues({ right: 'q', on: 'ts', by: 's', by_left: 's' })).toContain(
      'by: give either by or by_left/by_right, not both',
    );
    expect(issues({ right: 'q', on: 'ts', by_left: ['a', 'b'], by_right: 'a' })).toEqual([
      'by_left: by_left and by_right must name the same number of columns',
    ]);
    expect(issues({ right: 'q', on: 'ts', strategy: 'forward', emit: 'immediate' })).toEqual([
      'emit: emit: immediate needs strategy: backward',
    ]);
    expect(issues({ right: 'q', on: 'ts', tolerance: '1mo' }).join()).toMatch(/no months/);
    expect(issues({ right: 'q', on: 'ts', tolerance: -1 }).length).toBe(1);
  });
  it.each(kernelModes())('creates the streaming operator over ctx.stream(right) (%s kernels)', (mode) => {
    useKernels(mode);
    onTestFinished(() => useKernels('native'));
    const right = new Subject<Batch>();
    const quotes = tableFromVectors({
      t: float64Vector(Float64Array.of(1, 3)),
      bid: float64Vector(Float64Array.of(10, 30)),
    });
    const asked: string[] = [];
    const ctx = {
      name: 'joined',
      stream: (n: string) => {
        asked.push(n);
        return right;
      },
      schemaOf: () => quotes.schema,
    } as unknown as ComponentContext;
    const op = asofJoinSpec.create(zAsofJoinConfig.parse({ right: 'quotes', on: 't', tolerance: 1 }), ctx);
    expect(asked).toEqual(['quotes']);
    const left = new Subject<Batch>();
    const out: Batch[] = [];
    left.pipe(op).subscribe((b) => out.push(b));
    left.next({
      stream: 'trades',
      data: tableFromVectors({ t: float64Vector(Float64Array.of(2, 5)) }).batches[0],
      acks: AckSet.empty(),
    });
    right.next({ stream: 'quotes', data: quotes.batches[0], acks: AckSet.empty() });
    right.complete();
    expect(out.flatMap((b) => rowsOf(new Table([b.data])))).toEqual([
      { t: 2, bid: 10 },
      { t: 5, bid: null },
    ]);
    expect(out[0].stream).toBe('trades');
  });
  it('passes idle_timeout to the operator, timed by the context clock', () => {
    const T0 = 1_767_225_600_000_000;
    const ts = (secs: number[]) => timestampVector(Float64Array.from(secs, (x) => T0 + x * 1e6));
    const quotes = tableFromVectors({ ts: ts([0, 1]), bid: float64Vector(Float64Array.of(1, 2)) });
    const right = new Subject<Batch>();
    const clock = new VirtualClock();
    const ctx = {
      name: 'joined',
      stream: () => right,
      schemaOf: () => quotes.schema,
      clock,
    } as unknown as ComponentContext;
    const config = zAsofJoinConfig.parse(parse('right: quotes\non: ts\nidle_timeout: 1500ms\n'));
    expect(config.idle_timeout).toBe(1500);
    const left = new Subject<Batch>();
    const out: Batch[] = [];
    left.pipe(asofJoinSpec.create(config, ctx)).subscribe((b) => out.push(b));
    right.next({ stream: 'quotes', data: quotes.batches[0], acks: AckSet.empty() });
    left.next({ stream: 'trades', data: tableFromVectors({ ts: ts([2]) }).batches[0], acks: AckSet.empty() });
    clock.advance(1499);
    expect(out.length).toBe(0);
    clock.advance(1);
    expect(out.flatMap((b) => rowsOf(new Table([b.data])).map((r) => r.bid))).toEqual([2]);
  });
});
