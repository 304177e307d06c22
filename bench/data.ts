/** Data helpers shared by the operator benches. */
import { type Table, tableToIPC } from 'apache-arrow';
import pl from 'nodejs-polars';
import { AckSet } from '../pipeline/acks.ts';
import type { Batch } from '../pipeline/types.ts';

/** The same table as a Polars frame (through Arrow IPC, untimed), the symbol as a string column. */
export function toPolars(t: Table): pl.DataFrame {
  return pl.readIPC(Buffer.from(tableToIPC(t, 'file'))).withColumns(pl.col('symbol').cast(pl.Utf8));
}

/** The table cut into pipeline batches of `size` rows (zero-copy slices), as a stream delivers them. */
export function batchesOf(t: Table, stream: string, size: number): Batch[] {
  const out: Batch[] = [];
  for (const rb of t.batches)
    for (let o = 0; o < rb.numRows; o += size)
      out.push({ stream, data: rb.slice(o, Math.min(rb.numRows, o + size)), acks: AckSet.empty() });
  return out;
}
