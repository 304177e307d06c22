/**
 * Property tests: whatever arrives (random JSON, rows of random types, mutated or truncated
 * messages, random text and bytes), the decoder never throws and accounts for every row: each is
 * appended, rejected or skipped by the filter, exactly once. The batches it then flushes are valid
 * Arrow (an IPC round trip reads them back), and the interpreted row writer (for hosts without
 * code generation) gives exactly what the compiled one gives.
 */
import { type Data, type RecordBatch, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SchemaDecl, zDecode } from '../../config/common.ts';
import { createJsonDecoder } from './json.ts';

const SCHEMA: SchemaDecl = {
  ts: 'timestamp',
  symbol: 'symbol',
  price: 'f64',
  qty: 'i64',
  maker: 'bool',
  note: 'utf8',
};

const anyValue = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }),
);

const timestamp = fc.oneof(
  fc.integer({ min: 0, max: 4_000_000_000_000 }),
  fc.integer({ min: 0, max: 4_000_000_000_000 }).map(String),
  fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
  anyValue,
);

const row = fc.record(
  {
    type: fc.constantFrom('trade', 'quote'),
    ts: timestamp,
    symbol: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 8 }), anyValue),
    price: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.double().map(String), anyValue),
    qty: fc.oneof(fc.integer(), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String), anyValue),
    maker: fc.oneof(fc.boolean(), fc.constantFrom(0, 1, 'true', 'false', 2, 'yes'), anyValue),
    note: fc.oneof(fc.string({ unit: 'grapheme' }), anyValue),
  },
  { requiredKeys: [] },
);

const message = fc.oneof(
  row,
  fc.array(fc.oneof({ weight: 4, arbitrary: row }, { weight: 1, arbitrary: anyValue }), { maxLength: 30 }),
  anyValue,
);

/** A valid message with characters deleted, inserted or replaced (often not JSON any more). */
const mutated = fc
  .tuple(
    message.map((m) => JSON.stringify(m) ?? ''),
    fc.array(fc.tuple(fc.nat(), fc.nat(2), fc.string({ minLength: 1, maxLength: 2 })), { maxLength: 4 }),
  )
  .map(([text, edits]) => {
    let s = text;
    for (const [at, op, chars] of edits) {
      const i = s.length === 0 ? 0 : at % s.length;
      if (op === 0) s = s.slice(0, i) + s.slice(i + 1);
      else if (op === 1) s = s.slice(0, i) + chars + s.slice(i);
      else s = s.slice(0, i) + chars + s.slice(i + 1);
    }
    return s;
  });

const payload = fc.oneof(
  { weight: 4, arbitrary: message.map((m) => JSON.stringify(m) ?? '') },
  { weight: 3, arbitrary: mutated },
  { weight: 1, arbitrary: fc.string() },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 1, arbitrary: message.map((m) => new TextEncoder().encode(JSON.stringify(m) ?? '')) },
);

/** Every column as plain values (raw int64 for timestamps), plus symbol dictionaries. */
function dump(batch: RecordBatch): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const field of batch.schema.fields) {
    const v = batch.getChild(field.name)!;
    const values: unknown[] = [];
    for (const d of v.data as Data[]) {
      for (let i = 0; i < d.length; i++) {
        if (!d.getValid(i)) values.push(null);
        else if (field.name === 'ts') values.push((d.values as BigInt64Array)[i]);
        else values.push(v.get(i));
      }
      if (d.dictionary) values.push({ dictionary: d.dictionary.toArray() });
    }
    out[field.name] = values;
  }
  return out;
}

/** Rows the message holds as the decoder sees it: 1 for a bad message (one rejection). */
function rowCount(p: string | Uint8Array): { rows: number; badMessage: boolean } {
  const text = typeof p === 'string' ? p : new TextDecoder().decode(p);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { rows: 1, badMessage: true };
  }
  if (typeof v !== 'object' || v === null) return { rows: 1, badMessage: true };
  return { rows: Array.isArray(v) ? v.length : 1, badMessage: false };
}

describe('JSON decoder under random input', () => {
  for (const filtered of [false, true]) {
    it(`never throws and accounts for every row${filtered ? ' (with a filter)' : ''}`, () => {
      fc.assert(
        fc.property(fc.array(payload, { minLength: 1, maxLength: 20 }), (payloads) => {
          const decode = zDecode.parse(filtered ? { filter: { type: 'trade' } } : {});
          const decoder = createJsonDecoder(SCHEMA, decode, { capacity: 8 });
          let total = 0;
          for (const p of payloads) {
            let rejects = 0;
            const skippedBefore = decoder.skipped;
            const rowsBefore = decoder.pendingRows;
            const appended = decoder.decode(p, (reason, text) => {
              expect(typeof reason).toBe('string');
              expect(typeof text).toBe('string');
              rejects++;
            });
            const skipped = decoder.skipped - skippedBefore;
            const { rows, badMessage } = rowCount(p);
            expect(decoder.pendingRows - rowsBefore).toBe(appended);
            expect(appended + rejects + skipped).toBe(rows);
            if (badMessage) expect(rejects).toBe(1);
            total += appended;
          }
          const batch = decoder.flush();
          expect(batch.numRows).toBe(total);
          const back = tableFromIPC(tableToIPC(new Table([batch])));
          expect(back.numRows).toBe(total);
          expect(back.getChild('ts')!.nullCount).toBe(0);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('gives the same rows and rejections with the interpreted row writer', () => {
    fc.assert(
      fc.property(fc.array(payload, { minLength: 1, maxLength: 20 }), (payloads) => {
        const outcomes = [true, false].map((compile) => {
          const decoder = createJsonDecoder(SCHEMA, zDecode.parse({}), { capacity: 8, compile });
          const log: unknown[] = [];
          for (const p of payloads) {
            const rejects: string[] = [];
            log.push(
              decoder.decode(p, (reason, text) => rejects.push(`${reason} | ${text}`)),
              rejects,
            );
          }
          return { log, batch: dump(decoder.flush()) };
        });
        expect(outcomes[1]).toEqual(outcomes[0]);
      }),
      { numRuns: 200 },
    );
  });
});
