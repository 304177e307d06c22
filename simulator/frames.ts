/**
 * RFC 6455 server-to-client frame encoding for text messages.
 *
 * A server never masks its frames (RFC 6455 section 5.1), so a text frame is a two to ten byte
 * header followed by the UTF-8 payload: byte 0 is FIN (0x80) | opcode 0x1, byte 1 is the payload
 * length when it fits in 7 bits (<= 125), else 126 followed by a 16-bit big-endian length
 * (<= 65535), else 127 followed by a 64-bit big-endian length.
 *
 * The simulator and the ws-ingest benchmark pre-encode many frames into one Buffer and write it to
 * the raw socket in one call; `ws.send` per message costs far more than the frame bytes themselves.
 */

const FIN_TEXT = 0x81;

/** Header length in bytes for a payload of `n` bytes. */
export function frameHeaderLength(n: number): number {
  if (n <= 125) return 2;
  if (n <= 0xffff) return 4;
  return 10;
}

/** Writes a text-frame header for a payload of `n` bytes at `offset`; returns the offset after it. */
export function writeTextFrameHeader(target: Buffer, offset: number, n: number): number {
  target[offset] = FIN_TEXT;
  if (n <= 125) {
    target[offset + 1] = n;
    return offset + 2;
  }
  if (n <= 0xffff) {
    target[offset + 1] = 126;
    target.writeUInt16BE(n, offset + 2);
    return offset + 4;
  }
  target[offset + 1] = 127;
  // Payloads above 2^32 - 1 bytes cannot be held in one Buffer here, so the high word is zero.
  target.writeUInt32BE(Math.floor(n / 0x1_0000_0000), offset + 2);
  target.writeUInt32BE(n >>> 0, offset + 6);
  return offset + 10;
}

/** One unmasked, final text frame carrying `text`. */
export function encodeTextFrame(text: string): Buffer {
  const n = Buffer.byteLength(text, 'utf8');
  const out = Buffer.allocUnsafe(frameHeaderLength(n) + n);
  const at = writeTextFrameHeader(out, 0, n);
  out.write(text, at, 'utf8');
  return out;
}

/** Concatenated frames for `texts`, in order, in one Buffer ready for a single socket write. */
export function encodeTextFrames(texts: readonly string[]): Buffer {
  const lengths = new Array<number>(texts.length);
  let total = 0;
  for (let i = 0; i < texts.length; i++) {
    const n = Buffer.byteLength(texts[i], 'utf8');
    lengths[i] = n;
    total += frameHeaderLength(n) + n;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    at = writeTextFrameHeader(out, at, lengths[i]);
    at += out.write(texts[i], at, 'utf8');
  }
  return out;
}
