/** Test helpers for the as-of join: tables as plain rows, for comparing outputs. */
import type { Table } from 'apache-arrow';

/** Rows as plain objects, int64 and timestamps as numbers. */
export function rowsOf(t: Table): Record<string, unknown>[] {
  return t.toArray().map((r) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r.toJSON())) o[k] = typeof v === 'bigint' ? Number(v) : v;
    return o;
  });
}

/** int64 values as the little-endian word pairs the fused kernels read. */
export function int64Words(xs: readonly number[]): Int32Array {
  return new Int32Array(BigInt64Array.from(xs, (x) => BigInt(x)).buffer);
}

/** `n` time-ordered µs timestamps from 2026-01-01, steps uniform in `[0, 2 * step)`. */
export function timeSteps(rnd: () => number, n: number, step: number): number[] {
  const xs: number[] = [];
  let t = 1_767_225_600_000_000;
  for (let i = 0; i < n; i++) {
    t += Math.floor(rnd() * 2 * step);
    xs.push(t);
  }
  return xs;
}
