import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeTextFrame, encodeTextFrames } from './frames.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** A bare HTTP server that completes the WebSocket handshake and then writes `payload` raw. */
async function rawServer(payload: Buffer): Promise<{ server: Server; url: string }> {
  const server = createServer();
  server.on('upgrade', (req, socket: Socket) => {
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}${GUID}`).digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.write(payload);
    socket.on('error', () => {});
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `ws://127.0.0.1:${port}` };
}

async function receive(url: string, count: number): Promise<string[]> {
  const ws = new WebSocket(url, { maxPayload: 1 << 20 });
  const got: string[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (data, isBinary) => {
      expect(isBinary).toBe(false);
      got.push(data.toString());
      if (got.length === count) resolve();
    });
    ws.on('error', reject);
    ws.on('close', (code) => reject(new Error(`closed ${code} after ${got.length}`)));
  });
  ws.terminate();
  return got;
}

let server: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  if (server) await new Promise((resolve) => server!.close(resolve));
  server = undefined;
});

describe('encodeTextFrame', () => {
  it('uses the 7-bit, 16-bit and 64-bit length forms at their boundaries', () => {
    expect(encodeTextFrame('a'.repeat(125)).subarray(0, 2)).toEqual(Buffer.from([0x81, 125]));
    expect(encodeTextFrame('a'.repeat(126)).subarray(0, 4)).toEqual(Buffer.from([0x81, 126, 0, 126]));
    expect(encodeTextFrame('a'.repeat(65535)).subarray(0, 4)).toEqual(Buffer.from([0x81, 126, 0xff, 0xff]));
    const big = encodeTextFrame('a'.repeat(65536));
    expect(big.subarray(0, 10)).toEqual(Buffer.from([0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]));
    expect(big.length).toBe(65536 + 10);
  });

  it('counts UTF-8 bytes, not UTF-16 code units', () => {
    const frame = encodeTextFrame('€');
    expect(frame).toEqual(Buffer.from([0x81, 3, 0xe2, 0x82, 0xac]));
  });
});

describe('encodeTextFrames', () => {
  it('a real ws client receives every frame, in order, across all length forms', async () => {
    const texts = [
      '',
      '{"type":"trade","seq":1}',
      'x'.repeat(125),
      'y'.repeat(126),
      'é'.repeat(40_000),
      'z'.repeat(70_000),
      '{"type":"quote","symbol":"BTC-USD"}',
    ];
    const encoded = encodeTextFrames(texts);
    expect(encoded).toEqual(Buffer.concat(texts.map(encodeTextFrame)));
    const started = await rawServer(encoded);
    server = started.server;
    const got = await receive(started.url, texts.length);
    expect(got).toEqual(texts);
  });
});
