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
