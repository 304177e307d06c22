/**
 * Keeps the dictionary columns of consecutive record batches continuous, so that an IPC stream
 * writer sends each symbol once: the first batch carries the initial dictionary, later batches
 * only dictionary deltas (the new symbols).
 *
 * arrow-js' writer emits a delta when a batch's dictionary vector starts with the very same
 * chunks it wrote before, and a replacement dictionary otherwise. Batches from the decoder each
 * carry the stream's whole dictionary so far as a fresh vector, so this class rebuilds every
 * dictionary column over one growing chunked vector per column. When an incoming dictionary is
 * not an extension of what was written (another order, another source), the indices are remapped.
 */
import {
  type Data,
  DataType,
  type Dictionary,
  makeData,
  RecordBatch,
  type Schema,
  Struct,
  Utf8,
  Vector,
  vectorFromArray,
} from 'apache-arrow';

interface ColumnDictionary {
  /** Values written so far, in code order. */
  values: string[];
  codeOf: Map<string, number>;
  /** Chunks handed to the writer so far; the writer compares them by identity. */
  chunks: Data<Utf8>[];
  vector: Vector<Utf8>;
}

export class DictionaryContinuity {
  private readonly schema: Schema;
  private readonly columns = new Map<number, ColumnDictionary>();

  /** `schema` is the schema every rebuilt batch gets (the first batch's). */
  constructor(schema: Schema) {
    this.schema = schema;
    schema.fields.forEach((f, i) => {
      if (DataType.isDictionary(f.type)) {
        const empty = vectorFromArray([], new Utf8());
        this.columns.set(i, { values: [], codeOf: new Map(), chunks: [], vector: empty });
      }
    });
  }

  /** The batch over this object's schema and growing dictionaries, with the same rows. */
  rebuild(batch: RecordBatch): RecordBatch {
    if (this.columns.size === 0 && batch.schema === this.schema) return batch;
    const children = batch.data.children.map((child, i) => {
      const column = this.columns.get(i);
      if (!column) return child;
      return this.rebuildDictionaryColumn(child as Data<Dictionary>, i, column);
    });
    const data = makeData({
      type: new Struct(this.schema.fields),
      length: batch.numRows,
      nullCount: 0,
      children,
    });
    return new RecordBatch(this.schema, data);
  }

  private rebuildDictionaryColumn(child: Data<Dictionary>, index: number, column: ColumnDictionary): Data {
    const incoming = child.dictionary as Vector<Utf8> | undefined;
    const incomingLength = incoming?.length ?? 0;
    let remap: Int32Array | undefined;
    const known = column.values.length;
    let isPrefix = incomingLength >= known;
    for (let i = 0; isPrefix && i < known; i++) if (incoming!.get(i) !== column.values[i]) isPrefix = false;

    const added: string[] = [];
    if (isPrefix) {
      for (let i = known; i < incomingLength; i++) {
        const s = incoming!.get(i) as string;
        column.codeOf.set(s, column.values.length);
        column.values.push(s);
        added.push(s);
      }
    } else {
      remap = new Int32Array(incomingLength);
      for (let i = 0; i < incomingLength; i++) {
        const s = incoming!.get(i) as string;
        let code = column.codeOf.get(s);
        if (code === undefined) {
          code = column.values.length;
          column.codeOf.set(s, code);
          column.values.push(s);
          added.push(s);
        }
        remap[i] = code;
      }
    }
    if (added.length > 0 || column.chunks.length === 0) {
      column.chunks.push(vectorFromArray(added, new Utf8()).data[0]);
      column.vector = new Vector(column.chunks);
    }

    const type = this.schema.fields[index].type as Dictionary;
    let indices = child.values as Int32Array;
    if (remap) {
      const mapped = new (indices.constructor as Int32ArrayConstructor)(indices.length);
      for (let i = 0; i < indices.length; i++) {
        const c = indices[i];
        mapped[i] = c >= 0 && c < remap.length ? remap[c] : 0;
      }
      indices = mapped;
    }
    return makeData({
      type,
      offset: child.offset,
      length: child.length,
      nullCount: child.nullCount,
      nullBitmap: child.nullBitmap,
      data: indices,
      dictionary: column.vector,
    });
  }
}
