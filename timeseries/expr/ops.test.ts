import { type RecordBatch, Table } from 'apache-arrow';
import fc from 'fast-check';
import { from, lastValueFrom, type OperatorFunction, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { Registry } from '../../config/registry.ts';
import { AckSet } from '../../pipeline/acks.ts';
import type { Batch } from '../../pipeline/types.ts';
import { dictionaryVector, float64Vector, recordBatchFromVectors, timestampVector } from '../arrow.ts';
import {
  type FilterOptions,
  filter,
  filterSpec,
  filterStream,
  registerExprOps,
  type SelectOptions,
  select,
  selectSpec,
  selectStream,
  type WithColumnsOptions,
  withColumns,
  withColumnsSpec,
  withColumnsStream,
} from './ops.ts';
import { ExprError } from './parse.ts';

const SYMS = ['BTC', 'ETH', 'SOL'];

function trades(n: number, seed: number): RecordBatch {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s / 4294967296;
  };
  const ts = new Float64Array(n);
  const codes = new Int32Array(n);
  const price = new Float64Array(n);
  const valid = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    ts[i] = 1_700_000_000_000_000 + i * 1000;
    codes[i] = Math.floor(rnd() * SYMS.length);
    price[i] = Math.round(rnd() * 1000) / 10;
    valid[i] = rnd() < 0.9 ? 1 : 0;
  }
  return recordBatchFromVectors({
    ts: timestampVector(ts),
    symbol: dictionaryVector(codes, SYMS),
    price: float64Vector(price, valid),
  });
}

const rowsOf = (t: Table | RecordBatch) =>
  Array.from({ length: t.numRows }, (_, i) => {
    const r = t.get(i)!.toJSON() as Record<string, unknown>;
    for (const k of Object.keys(r)) if (typeof r[k] === 'bigint') r[k] = Number(r[k]);
    return r;
  });

async function runStream(
  whole: RecordBatch,
  op: OperatorFunction<Batch, Batch>,
  cuts: number[],
): Promise<{ inputs: Batch[]; outputs: Batch[] }> {
  const bounds = [...new Set([0, ...cuts.filter((c) => c < whole.numRows), whole.numRows])].sort(
    (a, b) => a - b,
  );
  const inputs: Batch[] = [];
  for (let i = 0; i + 1 < bounds.length; i++)
    inputs.push({ stream: 's', data: whole.slice(bounds[i], bounds[i + 1]), acks: new AckSet() });
  const outputs = await lastValueFrom(from(inputs).pipe(op, toArray()));
  return { inputs, outputs };
}

describe('filter', () => {
  const b = recordBatchFromVectors({
    ts: timestampVector(Float64Array.from([1, 2, 3, 4])),
    symbol: dictionaryVector(Int32Array.from([0, 1, 0, 2]), SYMS),
    price: float64Vector(Float64Array.from([10, 20, 0, 40]), Uint8Array.from([1, 1, 0, 1])),
  });

  it('keeps true rows, drops false and null ones, and gathers every column type', () => {
    const out = filter(new Table([b]), "price > 15 or symbol == 'BTC'");
    // row 2: price null → (null or true) = true; keeps it.
    expect(rowsOf(out).map((r) => [r.symbol, r.price])).toEqual([
      ['BTC', 10],
      ['ETH', 20],
      ['BTC', null],
      ['SOL', 40],
    ]);
    const out2 = filter(new Table([b]), { expr: 'price > 15' });
    expect(rowsOf(out2).map((r) => r.symbol)).toEqual(['ETH', 'SOL']);
  });

  it('emits every batch, even empty, with its acks', async () => {
    const { inputs, outputs } = await runStream(b, filterStream('price > 100'), [2]);
    expect(outputs.map((o) => o.data.numRows)).toEqual([0, 0]);
    outputs.forEach((o, i) => {
      expect(o.acks).toBe(inputs[i].acks);
    });
  });

  it('rejects a non-boolean filter and names unknown columns', () => {
    expect(() => filter(new Table([b]), 'price * 2')).toThrow(/must be a boolean/);
    expect(() => filter(new Table([b]), 'qty > 1')).toThrow(ExprError);
    expect(() => filterStream('price >')).toThrow(/expected a value/);
  });
});

describe('select and with_columns', () => {
  const b = trades(6, 3);

  it('select projects, renames and computes, in the listed order', () => {
    const out = select(new Table([b]), { columns: ['symbol', { px: 'price', twice: 'price * 2' }] });
    expect(out.schema.fields.map((f) => [f.name, String(f.type)])).toEqual([
      ['symbol', 'Dictionary<Int32, Utf8>'],
      ['px', 'Float64'],
      ['twice', 'Float64'],
    ]);
    const rows = rowsOf(out);
    const src = rowsOf(b);
    rows.forEach((r, i) => {
      expect(r.px).toBe(src[i].price);
      expect(r.twice).toBe(src[i].price === null ? null : (src[i].price as number) * 2);
    });
    expect(() => select(new Table([b]), { columns: ['price * 2'] })).toThrow(/is an expression; name it/);
    expect(() => select(new Table([b]), { columns: ['price', { price: 'price + 1' }] })).toThrow(/twice/);
  });

  it('with_columns replaces in place and appends, every expression seeing the input', () => {
    const out = withColumns(new Table([b]), {
      columns: { price: 'price + 1', old: 'price', up: 'price > 50' },
    });
    expect(out.schema.fields.map((f) => f.name)).toEqual(['ts', 'symbol', 'price', 'old', 'up']);
    for (const r of rowsOf(out)) {
      if (r.old === null) expect(r.price).toBeNull();
      else expect(r.price).toBe((r.old as number) + 1);
      expect(r.up).toBe(r.old === null ? null : (r.old as number) > 50);
    }
  });
});

// shift/diff inside branches of if and arguments of coalesce: their history must advance on every
// row, taken or not, for the output not to depend on the split.
const IF_FILTER = 'if(price > 50, diff(price, 1) > 0, coalesce(shift(price, 1) < price, true))';
const IF_COLUMNS = {
  pick: 'if(price > 50, shift(price, 1), diff(price, 2))',
  first: 'coalesce(shift(price, 2), shift(price, 1), price, 0)',
  fill: 'coalesce(price, shift(price, 1), -1)',
  seen: "if(shift(price, 1) is null, symbol, 'seen')",
  late: 'if(diff(ts, 1) > 2000, ts, shift(ts, 1))',
};

// Time and string functions, alone and under shift/diff: per-row kernels and per-dictionary-entry
// maps, which must not depend on the split either.
const FN_FILTER = "starts_with(lower(symbol), 'b') or diff(truncate(ts, '10ms'), 1) > 0";
const FN_COLUMNS = {
  bucket: "truncate(ts, '10ms')",
  clock: "hour(ts, 'America/New_York') * 10000 + minute(ts) * 100 + second(ts)",
  sym: 'lower(symbol)',
  n: "len(symbol) + if(ends_with(symbol, 'H'), 10, 0)",
  gap: "diff(truncate(ts, '5ms'), 1)",
};

/** An operator over a whole table, and a factory of the same operator over a stream. */
type SplitCase = [string, (t: Table) => Table, () => OperatorFunction<Batch, Batch>];
const filterCase = (name: string, o: FilterOptions): SplitCase => [
  name,
  (t) => filter(t, o),
  () => filterStream(o),
];
const withColumnsCase = (name: string, o: WithColumnsOptions): SplitCase => [
  name,
  (t) => withColumns(t, o),
  () => withColumnsStream(o),
];
const selectCase = (name: string, o: SelectOptions): SplitCase => [
  name,
  (t) => select(t, o),
  () => selectStream(o),
];

describe('expression ops: streaming equals batch for any split', () => {
  const cases = [
    filterCase('filter with diff by symbol', {
      expr: 'abs(diff(price, 1)) > 20 or shift(price, 2) is null',
      by: 'symbol',
    }),
    withColumnsCase('with_columns with shift and diff', {
      columns: { prev: 'shift(price, 1)', d2: 'diff(price, 2)', dt: 'diff(ts, 1)' },
      by: ['symbol'],
    }),
    filterCase('filter with if and coalesce over shift and diff by symbol', {
      expr: IF_FILTER,
      by: 'symbol',
    }),
    withColumnsCase('with_columns with if and coalesce over shift and diff', {
      columns: IF_COLUMNS,
      by: ['symbol'],
    }),
    filterCase('filter with string functions and diff of truncate by symbol', {
      expr: FN_FILTER,
      by: 'symbol',
    }),
    withColumnsCase('with_columns with time and string functions', { columns: FN_COLUMNS, by: ['symbol'] }),
    selectCase('select with an unkeyed shift', { columns: ['symbol', { lag: 'shift(price, 3)' }] }),
  ];

  it.each(cases)('%s', async (_, batchOp, streamOp) => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1e9 }),
        fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 6 }),
        async (seed, cuts) => {
          const whole = trades(60, seed);
          const expected = rowsOf(batchOp(new Table([whole])));
          const { inputs, outputs } = await runStream(whole, streamOp(), cuts);
          outputs.forEach((o, i) => {
            expect(o.acks).toBe(inputs[i].acks);
          });
          expect(outputs.flatMap((o) => rowsOf(o.data))).toEqual(expected);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('expression op specs', () => {
  it('parse their examples and register', () => {
    for (const spec of [filterSpec, selectSpec, withColumnsSpec])
      for (const ex of spec.examples ?? []) {
        const r = spec.config.safeParse(parseYaml(ex.yaml));
        expect([spec.name, ex.title, r.success]).toEqual([spec.name, ex.title, true]);
      }
    const reg = new Registry();
    registerExprOps(reg);
    expect(reg.list('op').map((s) => s.name)).toEqual(['filter', 'select', 'with_columns']);
  });

  it('report expression syntax errors at config time with the column', () => {
    const r = filterSpec.config.safeParse('price > > 3');
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('at column 9');
    expect(filterSpec.config.safeParse({ expr: 'a > 1', by: 'symbol', extra: 1 }).success).toBe(false);
    expect(withColumnsSpec.config.safeParse({ columns: { x: '1 +' } }).success).toBe(false);
  });

  it('report unknown functions and wrong argument counts at config time, before any schema', () => {
    const issues = (r: { error?: { issues: { message: string }[] } }) =>
      (r.error?.issues ?? []).map((i) => i.message).join('; ');
    expect(issues(filterSpec.config.safeParse('median(price) > 1'))).toMatch(
      /unknown function "median"; functions are .*coalesce.* at column 1/,
    );
    expect(issues(filterSpec.config.safeParse('price > 1 and if(size > 0, true) '))).toMatch(
      /if takes 3 arguments, got 2 at column 15/,
    );
    expect(issues(withColumnsSpec.config.safeParse({ r: 'round(abs(price), 1, 2)' }))).toMatch(
      /round takes 1 or 2 arguments, got 3/,
    );
    expect(issues(selectSpec.config.safeParse(['ts', { h: 'hour()' }]))).toMatch(
      /hour takes 1 or 2 arguments, got 0/,
    );
    // Literal arguments are checked too: durations, zones, patterns.
    expect(issues(filterSpec.config.safeParse("truncate(ts, '1mo') > ts"))).toMatch(
      /argument 2 of truncate: .*months/,
    );
    expect(issues(filterSpec.config.safeParse("hour(ts, 'Mars/Base') > 1"))).toMatch(
      /argument 2 of hour: "Mars\/Base" is not an IANA time zone/,
    );
    expect(issues(filterSpec.config.safeParse('starts_with(symbol, venue)'))).toMatch(
      /argument 2 of starts_with must be a string literal such as 'BTC' in single quotes at column 21/,
    );
    // The operators check too when built from code.
    expect(() => filterStream('lower(symbol, 1) == "x"')).toThrow(/lower takes 1 argument, got 2/);
  });

  it('create working operators from parsed config', async () => {
    const b = trades(10, 5);
    const ops = [
      filterSpec.create(filterSpec.config.parse("symbol == 'BTC'"), {} as any),
      selectSpec.create(selectSpec.config.parse(['symbol', { p: 'price' }]), {} as any),
      withColumnsSpec.create(withColumnsSpec.config.parse({ n: 'price * 2' }), {} as any),
      withColumnsSpec.create(
        withColumnsSpec.config.parse({ columns: { d: 'diff(price)' }, by: 'symbol' }),
        {} as any,
      ),
    ];
    for (const op of ops) {
      const { outputs } = await runStream(b, op, [4]);
      expect(outputs).toHaveLength(2);
    }
    const { outputs } = await runStream(b, ops[0], []);
    expect(rowsOf(outputs[0].data).every((r) => r.symbol === 'BTC')).toBe(true);
  });
});
