/**
 * Columns in shared memory. The pool's workers can only see SharedArrayBuffers, so a table whose
 * column buffers live there can be split across threads without copying; a table anywhere else is
 * processed on the calling thread. Every table a parallel operator returns is shared already, so
 * chained operators stay parallel. {@link shareTable} moves a table there once (one copy), as
 * loading a file into an engine's memory would.
 */
export { sharedArray } from '../kernels/shared-array.ts';

import {
  type Data,
  makeData,
  RecordBatch,
  type Struct,
  Table,
  type TypeMap,
  type Vector,
} from 'apache-arrow';

type Buffer = { buffer: ArrayBufferLike; byteOffset: number; byteLength: number } | undefined | null;

/** Whether a typed array lives in shared memory (trivially so when absent or empty). */
export function isSharedArray(a: Buffer): boolean {
  return a == null || a.byteLength === 0 || a.buffer instanceof SharedArrayBuffer;
}

/** Whether every buffer of this data (children and dictionary included) is shared. */
export function isSharedData(d: Data): boolean {
  if (!isSharedArray(d.values as Buffer) || !isSharedArray(d.nullBitmap as Buffer)) return false;
  if (!isSharedArray(d.valueOffsets as Buffer) || !isSharedArray(d.typeIds as Buffer)) return false;
  if (d.dictionary && !d.dictionary.data.every(isSharedData)) return false;
  return (d.children ?? []).every(isSharedData);
}

/** Whether every chunk of a column is shared. */
export function isSharedVector(v: Vector): boolean {
  return v.data.every(isSharedData);
}

/** A typed array in shared memory: itself when it is there already (or empty), else a copy. */
export function toShared<T extends NonNullable<Buffer>>(a: T): T {
  if (isSharedArray(a)) return a;
  const sab = new SharedArrayBuffer(a.byteLength);
  new Uint8Array(sab).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  const Ctor = (a as any).constructor;
  return new Ctor(sab, 0, a.byteLength / (Ctor.BYTES_PER_ELEMENT ?? 1));
}

function shareData(d: Data): Data {
  if (isSharedData(d)) return d;
  const dictionary = d.dictionary ? shareVector(d.dictionary) : undefined;
  return makeData({
    type: d.type as any,
    offset: d.offset,
    length: d.length,
    nullCount: d.nullCount,
    nullBitmap: d.nullBitmap ? toShared(d.nullBitmap) : undefined,
    data: d.values ? toShared(d.values as any) : undefined,
    valueOffsets: d.valueOffsets ? toShared(d.valueOffsets as any) : undefined,
    typeIds: d.typeIds ? toShared(d.typeIds) : undefined,
    children: (d.children ?? []).map(shareData),
    child: d.children?.[0] ? shareData(d.children[0]) : undefined,
    dictionary,
  } as any);
}

function shareVector<T extends Vector>(v: T): T {
  if (isSharedVector(v)) return v;
  return new (v.constructor as any)(v.data.map(shareData));
}

/** The same table with every buffer in shared memory (tables already there come back as they are). */
export function shareTable(t: Table): Table {
  if (t.batches.every((b) => isSharedData(b.data))) return t;
  return new Table(
    t.schema,
    t.batches.map((b) => new RecordBatch(t.schema, shareData(b.data) as Data<Struct<TypeMap>>)),
  );
}
