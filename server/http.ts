/**
 * The operations endpoint: Prometheus metrics and health probes over plain HTTP.
 *
 * - `GET /metrics`: the pipeline's prom-client registry in the text exposition format.
 * - `GET /health/live`: 200 while the process serves requests (a liveness probe).
 * - `GET /health/ready`: 200 when the pipeline says it is ready, else 503 with a JSON reason.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { PolaroidError } from '../pipeline/errors.ts';

/** The parts of a running pipeline the endpoint serves (`pipeline/runtime.ts` `Pipeline` fits). */
export interface HttpServedPipeline {
  /** The pipeline's own prom-client registry. */
  readonly metrics: Registry;
  /** Started, every source connected, no fatal error. */
  ready(): boolean;
  /** Consulted only when not ready, to say why. */
  status?(): ReadinessStatus;
}

/** The part of the pipeline status that explains readiness. */
export interface ReadinessStatus {
  state: string;
  fatal?: string;
  sources: readonly { name: string; connected: boolean }[];
}

export interface HttpServerOptions {
  /** `host:port`, `:port` (all interfaces) or `[::1]:port`; port 0 picks a free one. */
  listen: string;
  pipeline: HttpServedPipeline;
}

export interface HttpServerHandle {
  readonly host: string;
  readonly port: number;
  /** Base URL, e.g. `http://127.0.0.1:9464`. */
  readonly url: string;
  close(): Promise<void>;
}

export class ListenAddressError extends PolaroidError {
  readonly code = 'HTTP_BAD_LISTEN_ADDRESS';
  readonly retriable = false;
}

/** Split `host:port` (`:port`, `[v6]:port`) into parts; throws {@link ListenAddressError}. */
export function parseListen(listen: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65_535)
    throw new ListenAddressError(`expected host:port such as 127.0.0.1:9464 or :9464, got "${listen}"`);
  const host = m[1] ?? m[2];
  return { host: host === '' ? undefined : host, port };
}

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(head ? undefined : body);
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Why the pipeline is not ready, from its state and source connections. A fatal error is named
 * but not quoted: its text may carry connection details; the logs have it.
 */
export function notReadyReason(pipeline: HttpServedPipeline): string {
  const s = pipeline.status?.();
  if (!s) return 'pipeline is not ready';
  if (s.fatal !== undefined) return `pipeline failed (${s.state}); see the logs`;
  if (s.state !== 'running') return `pipeline is ${s.state}`;
  const down = s.sources.filter((src) => !src.connected).map((src) => src.name);
  if (down.length > 0) return `not connected: ${down.join(', ')}`;
  return 'pipeline is not ready';
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  pipeline: HttpServedPipeline,
): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0];
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) {
    res.setHeader('allow', 'GET, HEAD');
    send(res, 405, JSON_TYPE, JSON.stringify({ error: 'method not allowed' }), false);
    return;
  }
  switch (path) {
    case '/metrics': {
      const registry = pipeline.metrics;
      send(res, 200, registry.contentType, await registry.metrics(), head);
      return;
    }
    case '/health/live':
      send(res, 200, JSON_TYPE, JSON.stringify({ status: 'live' }), head);
      return;
    case '/health/ready': {
      if (pipeline.ready()) send(res, 200, JSON_TYPE, JSON.stringify({ status: 'ready' }), head);
      else
        send(
          res,
          503,
          JSON_TYPE,
          JSON.stringify({ status: 'not_ready', reason: notReadyReason(pipeline) }),
          head,
        );
      return;
    }
    default:
      send(res, 404, JSON_TYPE, JSON.stringify({ error: 'not found', paths: ENDPOINTS }), head);
  }
}

const ENDPOINTS = ['/metrics', '/health/live', '/health/ready'];

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServerHandle> {
  const { host, port } = parseListen(options.listen);
  const server: Server = createServer((req, res) => {
    handle(req, res, options.pipeline).catch((e: unknown) => {
      if (!res.headersSent)
        send(res, 500, JSON_TYPE, JSON.stringify({ error: (e as Error).message ?? 'internal error' }), false);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    host: addr.address,
    port: addr.port,
    url: `http://${urlHost}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
