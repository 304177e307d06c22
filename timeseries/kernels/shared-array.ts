/**
 * Typed arrays over SharedArrayBuffers. Worker threads can only see shared memory, so the pool's
 * inputs and outputs live there (timeseries/parallel/). Hot loops on the calling thread gain too:
 * once apache-arrow is loaded (it detaches an ArrayBuffer at import), V8 checks on every
 * typed-array access whether the buffer was detached, which makes such loops about 1.5x slower; a
 * SharedArrayBuffer cannot be detached, so the check is left out.
 */

/** A constructor of typed arrays over a buffer. */
export type SharedArrayCtor<T> = {
  new (buffer: SharedArrayBuffer, byteOffset: number, length: number): T;
  BYTES_PER_ELEMENT: number;
};

/** A zeroed typed array of `n` elements over a new SharedArrayBuffer. */
export function sharedArray<T>(Ctor: SharedArrayCtor<T>, n: number): T {
  return new Ctor(new SharedArrayBuffer(Math.max(0, n) * Ctor.BYTES_PER_ELEMENT), 0, n);
}
