/**
 * C-2: a secret in the config never reaches stdout, stderr or an HTTP response: not at startup,
 * not on a connection failure, not in validation errors.
 */
import { EventEmitter } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from '../config/registry.ts';
import { register as registerConnectors } from '../connectors/index.ts';
import type { CliIo } from './io.ts';
import { describeError, main } from './main.ts';
import { runPipelineFile } from './run.ts';

const CANARY = 'SECRET_CANARY_7f3a9c';

class Capture {
  text = '';
  isTTY = false;
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

function testIo(): { io: CliIo; all: () => string } {
  const stdout = new Capture();
  const stderr = new Capture();
  return {
    io: { stdout, stderr, env: { FEED_PASSWORD: CANARY }, cwd: process.cwd(), signals: new EventEmitter() },
    all: () => stdout.text + stderr.text,
  };
}

describe('secrets stay out of output (C-2)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'polaroid-secrets-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a feed URL password is not printed while the connection fails, nor served over HTTP', async () => {
    const config = join(dir, 'secret.yaml');
    await writeFile(
      config,
      [
        'sources:',
        '  trades:',
        '    type: websocket',
        // Port 1 on loopback: connection refused, so the source logs failures and retries.
        `    url: ws://alice:${CANARY}@127.0.0.1:1/ws`,
        '    schema: { ts: timestamp, symbol: symbol, price: f64 }',
        '    decode: { timestamp: { field: ts, unit: ms } }',
        'sinks:',
        '  files: { type: arrow_file, from: trades, path: "out/{stream}.arrows" }',
        'http: { listen: 127.0.0.1:0 }',
      ].join('\n'),
    );
    const registry = new Registry();
    registerConnectors(registry);
    const t = testIo();
    const running = runPipelineFile(config, t.io, { registry, forMs: 800, status: false });
    let base: string | undefined;
    for (let i = 0; i < 300 && !base; i++) {
      base = /metrics at (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(t.all())?.[1];
      if (!base) await new Promise((r) => setTimeout(r, 10));
    }
    expect(base, t.all()).toBeDefined();
    const ready = await fetch(`${base}/health/ready`);
    expect(ready.status).toBe(503);
    const served = (await ready.text()) + (await (await fetch(`${base}/metrics`)).text());
    expect(await running).toBe(0);
    expect(t.all()).toContain('ECONNREFUSED');
    expect(served).toContain('not connected: trades');
    expect(t.all() + served).not.toContain(CANARY);
  });

  it('validation errors name the field and type, never the value', async () => {
    const config = join(dir, 'invalid.yaml');
    await writeFile(
      config,
      [
        'sources:',
        '  trades:',
        '    type: websocket',
        `    url: [ "${CANARY}" ]`,
        '    schema: { ts: timestamp }',
        'sinks: {}',
      ].join('\n'),
    );
    const registry = new Registry();
    registerConnectors(registry);
    const run = testIo();
    expect(await runPipelineFile(config, run.io, { registry, status: false })).toBe(1);
    expect(run.all()).toContain(`${config}:4:`);
    expect(run.all()).toContain('sources.trades.url');
    expect(run.all()).not.toContain(CANARY);

    const lint = testIo();
    expect(await main(['lint', config], lint.io)).toBe(1);
    expect(lint.all()).not.toContain(CANARY);
  });

  it('masks URL passwords in the errors the CLI prints', () => {
    const err = Object.assign(new Error(`cannot reach amqp://bob:${CANARY}@broker:5672/`), { code: 'X' });
    expect(describeError(err)).toBe('cannot reach amqp://bob:***@broker:5672/ [X]');
  });
});
