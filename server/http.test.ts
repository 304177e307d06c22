import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type HttpServedPipeline,
  type HttpServerHandle,
  ListenAddressError,
  parseListen,
  type ReadinessStatus,
  startHttpServer,
} from './http.ts';

function fakePipeline(ready: () => boolean, status?: () => ReadinessStatus) {
  const registry = new Registry();
  const rows = new Counter({
    name: 'polaroid_rows_in_total',
    help: 'Rows decoded from a source',
    labelNames: ['component', 'kind'],
    registers: [registry],
  });
  const pipeline: HttpServedPipeline = status
    ? { metrics: registry, ready, status }
    : { metrics: registry, ready };
  return { pipeline, rows };
}

describe('HTTP operations endpoint', () => {
  let server: HttpServerHandle | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves the pipeline registry on /metrics in the Prometheus text format', async () => {
    const { pipeline, rows } = fakePipeline(() => true);
    rows.labels('trades', 'source').inc(42);
    server = await startHttpServer({ listen: '127.0.0.1:0', pipeline });
    expect(server.port).toBeGreaterThan(0);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('# TYPE polaroid_rows_in_total counter');
    expect(text).toContain('polaroid_rows_in_total{component="trades",kind="source"} 42');
  });

  it('answers liveness always and readiness from the pipeline, with a reason when not ready', async () => {
    let status: ReadinessStatus = {
      state: 'running',
      sources: [
        { name: 'trades', connected: false },
        { name: 'quotes', connected: true },
      ],
    };
    const { pipeline } = fakePipeline(
      () => status.state === 'running' && status.sources.every((s) => s.connected),
      () => status,
    );
    server = await startHttpServer({ listen: '127.0.0.1:0', pipeline });

    const live = await fetch(`${server.url}/health/live`);
    expect(live.status).toBe(200);

    const notReady = await fetch(`${server.url}/health/ready`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'not_ready', reason: 'not connected: trades' });

    status = { state: 'starting', sources: [] };
    expect((await (await fetch(`${server.url}/health/ready`)).json()).reason).toBe('pipeline is starting');

    status = { state: 'failed', fatal: 'connect ECONNREFUSED wss://user:SECRET_CANARY@host', sources: [] };
    const failed = await (await fetch(`${server.url}/health/ready`)).text();
    expect(failed).toContain('pipeline failed (failed); see the logs');
    expect(failed).not.toContain('SECRET_CANARY');

    status = { state: 'running', sources: [{ name: 'trades', connected: true }] };
    const ready = await fetch(`${server.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('says only "not ready" when the pipeline gives no status', async () => {
    const { pipeline } = fakePipeline(() => false);
    server = await startHttpServer({ listen: '127.0.0.1:0', pipeline });
    const plain = await fetch(`${server.url}/health/ready`);
    expect(plain.status).toBe(503);
    expect((await plain.json()).reason).toBe('pipeline is not ready');
  });

  it('answers 404 for unknown paths and 405 for other methods', async () => {
    const { pipeline } = fakePipeline(() => true);
    server = await startHttpServer({ listen: '127.0.0.1:0', pipeline });
    const missing = await fetch(`${server.url}/nope`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).paths).toContain('/metrics');
    const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('returns 500 when collecting metrics fails, and keeps serving', async () => {
    const { pipeline } = fakePipeline(() => true);
    const broken = {
      ...pipeline,
      metrics: Object.assign(new Registry(), {
        metrics: () => Promise.reject(new Error('collector failed')),
      }),
    };
    server = await startHttpServer({ listen: '127.0.0.1:0', pipeline: broken });
    expect((await fetch(`${server.url}/metrics`)).status).toBe(500);
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
  });

  it('fails to start on a port in use', async () => {
    const { pipeline } = fakePipeline(() => true);
    server = await startHttpServer({ listen: '127.0.0.1:0', pipeline });
    await expect(startHttpServer({ listen: `127.0.0.1:${server.port}`, pipeline })).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });
});

describe('parseListen', () => {
  it.each([
    ['127.0.0.1:9464', { host: '127.0.0.1', port: 9464 }],
    [':9464', { host: undefined, port: 9464 }],
    ['[::1]:0', { host: '::1', port: 0 }],
    ['localhost:80', { host: 'localhost', port: 80 }],
  ])('%s', (text, expected) => {
    expect(parseListen(text)).toEqual(expected);
  });

  it.each(['9464', '127.0.0.1', 'host:99999', 'a:b:1'])('rejects %s', (text) => {
    expect(() => parseListen(text)).toThrow(ListenAddressError);
  });
});
