/** Test helpers shared by the operator tests: seeded trade tables, thrown errors. */
import type { Table } from 'apache-arrow';
import { seededRandom } from '../pipeline/retry.ts';
import { dictionaryVector, float64Vector, tableFromVectors, timestampVector } from './arrow.ts';

export interface TradesSpec {
  n: number;
  seed?: number;
  /** Symbol names, dictionary-encoded (dictionary id 7). */
  symbols: readonly string[];
  /** First timestamp, µs. */
  start: number;
  /** Time steps are uniform in `[0, 2 * gapUs)`; a share `1 - moveShare` of them is 0. */
  gapUs: number;
  moveShare: number;
  /** Share of null prices and, drawn apart, of null sizes (validity is kept only when > 0). */
  nulls?: number;
  /** Share of prices that are NaN. */
  nans?: number;
  /** Share of null symbols. */
  nullKeys?: number;
  /** Prices are `100 + k * priceTick`, k in [0, 1000). */
  priceTick: number;
  /** Whole sizes 1..10, or fractional in [0.5, 10.5). */
  wholeSizes: boolean;
}

/** Columns ts, symbol, price, size. */
export function randomTrades(spec: TradesSpec): Table {
  const { n, symbols, gapUs, moveShare, nulls = 0, nans = 0, nullKeys = 0, priceTick } = spec;
  const rnd = seededRandom(spec.seed ?? 1);
  const ts = new Float64Array(n);
  const sym = new Int32Array(n);
  const price = new Float64Array(n);
  const size = new Float64Array(n);
  const pValid = new Uint8Array(n).fill(1);
  const sValid = new Uint8Array(n).fill(1);
  const kValid = new Uint8Array(n).fill(1);
  let t = spec.start;
  for (let i = 0; i < n; i++) {
    if (rnd() < moveShare) t += Math.floor(rnd() * 2 * gapUs);
    ts[i] = t;
    sym[i] = Math.floor(rnd() * symbols.length);
    price[i] = nans > 0 && rnd() < nans ? Number.NaN : 100 + Math.floor(rnd() * 1000) * priceTick;
    size[i] = spec.wholeSizes ? 1 + Math.floor(rnd() * 10) : 0.5 + rnd() * 10;
    if (nulls > 0 && rnd() < nulls) pValid[i] = 0;
    if (nulls > 0 && rnd() < nulls) sValid[i] = 0;
    if (nullKeys > 0 && rnd() < nullKeys) kValid[i] = 0;
  }
  const symbol = dictionaryVector(sym, symbols, 7, nullKeys > 0 ? kValid : undefined);
  return tableFromVectors({
    ts: timestampVector(ts),
    symbol,
    price: float64Vector(price, nulls > 0 ? pValid : undefined),
    size: float64Vector(size, nulls > 0 ? sValid : undefined),
  });
}

/** The error `fn` throws; fails when it returns. */
export function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}
