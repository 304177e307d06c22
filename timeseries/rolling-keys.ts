/**
 * Stable per-key ids across batches, for operators whose state is indexed by key (rolling windows,
 * the `shift`/`diff` expression functions). A `by` key is one or more columns; each distinct
 * combination of values gets a small integer id the first time it is seen, and keeps it for the
 * life of the operator, whatever dictionary a later batch carries. Null is a key value of its own.
 *
 * Dictionary columns (the stream's growing symbol dictionary) are translated dictionary entry by
 * entry, so the per-row cost is one array lookup; plain utf8 columns are encoded once per batch.
 */
import type { RecordBatch, Table, Vector } from 'apache-arrow';
import { Dictionary } from 'apache-arrow';

type Columnar = Table | RecordBatch;

const NULL_KEY = '\u0000null';
const SHIFT = 2 ** 21;

/** Values of one key column mapped to stable ids. */
class ColumnKeys {
  private readonly ids = new Map<string, number>();
  readonly labels: string[] = [];

  id(value: string): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.labels.length;
      this.ids.set(value, id);
      this.labels.push(value);
    }
    return id;
  }

  private lastDict: Vector | undefined;
  private lastMap: Int32Array | undefined;
  private lastIdentity = false;

  /** Dictionary entry → stable id (cached while a batch reuses the same dictionary). */
  private translate(dict: Vector): { map: Int32Array; identity: boolean } {
    if (dict === this.lastDict && this.lastMap && this.lastMap.length === dict.length)
      return { map: this.lastMap, identity: this.lastIdentity };
    const map = new Int32Array(dict.length);
    let identity = true;
    for (let j = 0; j < dict.length; j++) {
      const s = dict.get(j);
      map[j] = this.id(s == null ? NULL_KEY : String(s));
      if (map[j] !== j) identity = false;
    }
    this.lastDict = dict;
    this.lastMap = map;
    this.lastIdentity = identity;
    return { map, identity };
  }

  /** Stable ids of every row of `v`. */
  encode(v: Vector): Int32Array {
    if (v.type instanceof Dictionary) {
      if (v.data.length === 1 && v.nullCount === 0) {
        // One chunk whose dictionary maps to itself (the usual case for the stream's growing
        // dictionary): the codes are the ids, no copy.
        const d = v.data[0];
        if (this.translate(d.dictionary!).identity) return (d.values as Int32Array).subarray(0, d.length);
      }
      const out = new Int32Array(v.length);
      let o = 0;
      for (const d of v.data) {
        const { map } = this.translate(d.dictionary!);
        const codes = d.values as Int32Array;
        if (d.nullCount === 0) for (let i = 0; i < d.length; i++) out[o + i] = map[codes[i]];
        else
          for (let i = 0; i < d.length; i++) out[o + i] = d.getValid(i) ? map[codes[i]] : this.id(NULL_KEY);
        o += d.length;
      }
      return out;
    }
    const out = new Int32Array(v.length);
    const local = new Map<unknown, number>();
    for (let i = 0; i < v.length; i++) {
      const x = v.get(i);
      let id = local.get(x);
      if (id === undefined) {
        id = this.id(x == null ? NULL_KEY : String(x));
        local.set(x, id);
      }
      out[i] = id;
    }
    return out;
  }
}

/** Maps the `by` columns of successive batches to stable key ids (dense, from 0). */
export class KeyMapper {
  readonly columns: readonly string[];
  private readonly parts: ColumnKeys[];
  /** For composite keys, per level j: packed (prefix id, part id) → id; and id → part ids. */
  private readonly levels: Map<number, number>[];
  private readonly compositeParts: number[][] = [];

  constructor(columns: readonly string[]) {
    this.columns = columns;
    this.parts = columns.map(() => new ColumnKeys());
    this.levels = columns.map(() => new Map<number, number>());
  }

  /** Stable key ids of every row; `undefined` when there are no key columns. */
  encode(t: Columnar): Int32Array | null {
    if (this.columns.length === 0) return null;
    const first = this.parts[0].encode(column(t, this.columns[0]));
    if (this.columns.length === 1) return first;
    const partIds = this.columns.map((c, j) => (j === 0 ? first : this.parts[j].encode(column(t, c))));
    const out = new Int32Array(first.length);
    for (let i = 0; i < out.length; i++) {
      let id = partIds[0][i];
      const path = [id];
      for (let j = 1; j < partIds.length; j++) {
        const packed = id * SHIFT + partIds[j][i];
        path.push(partIds[j][i]);
        const level = this.levels[j];
        let next = level.get(packed);
        if (next === undefined) {
          next = this.compositeParts.length;
          level.set(packed, next);
          this.compositeParts.push(path.slice());
        }
        id = next;
      }
      out[i] = id;
    }
    return out;
  }

  /** Human-readable key of an id, for messages: `symbol=BTC-USD, venue=X`. */
  describe(id: number): string {
    if (this.columns.length === 0) return '(all rows)';
    const ids = this.columns.length === 1 ? [id] : this.compositeParts[id];
    return this.columns
      .map((c, j) => {
        const label = this.parts[j].labels[ids[j]];
        return `${c}=${label === NULL_KEY ? 'null' : label}`;
      })
      .join(', ');
  }
}

function column(t: Columnar, name: string): Vector {
  const v = t.getChild(name);
  if (!v) throw new Error(`column "${name}" not found`);
  return v;
}
