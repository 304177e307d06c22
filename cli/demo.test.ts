/**
 * The shipped demo pipeline, end to end: the exchange simulator in-process, examples/demo.yaml
 * with the real WebSocket source, console and arrow_file sinks, the HTTP endpoint; and every
 * shipped example config linted (C-5).
 */
import { EventEmitter } from 'node:events';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultRegistry } from '../config/default-registry.ts';
import { formatIssues, lintFiles } from '../config/lint.ts';
import { Registry } from '../config/registry.ts';
import { ConsoleSink, consoleSink } from '../connectors/console/index.ts';
import { register as registerConnectors } from '../connectors/index.ts';
import { ExchangeSimulator } from '../simulator/index.ts';
import { register as registerOperators } from '../timeseries/index.ts';
import { DEMO_CONFIG } from './demo.ts';
import type { CliIo } from './io.ts';
import { runPipelineFile } from './run.ts';

class Capture {
  text = '';
  isTTY = false;
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

function withOperators(registry: Registry): Registry {
  registerOperators(registry);
  return registry;
}

/** The built-in connectors, with the console sink writing to `out` instead of stdout. */
function connectorsWritingTo(out: Capture): Registry {
  const registry = new Registry();
  const wrapping = new Registry();
  registerConnectors(wrapping);
  for (const spec of wrapping.list('source')) registry.register(spec);
  for (const spec of wrapping.list('sink')) {
    if (spec.name !== consoleSink.name) registry.register(spec);
  }
  registry.register({
    ...consoleSink,
    create: (config, ctx) => new ConsoleSink(config, out, ctx.clock.scheduler, ctx.name),
  });
  return registry;
}

describe('examples/ingest.yaml end to end', () => {
  let dir: string;
  let sim: ExchangeSimulator | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'polaroid-demo-'));
  });
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('streams simulator trades and quotes to the console and to Arrow files', async () => {
    sim = await ExchangeSimulator.start({ port: 0, rate: 400, seed: 3 });
    const config = join(dir, 'ingest.yaml');
    await copyFile(resolve(import.meta.dirname, '../examples/ingest.yaml'), config);
    const screen = new Capture();
    const stderr = new Capture();
    const io: CliIo = { stdout: new Capture(), stderr, env: {}, cwd: dir, signals: new EventEmitter() };

    const code = await runPipelineFile(config, io, {
      registry: connectorsWritingTo(screen),
      env: { FEED_URL: sim.url, METRICS_LISTEN: '127.0.0.1:0' },
      forMs: 1200,
      status: false,
    });
    expect(code, stderr.text).toBe(0);
    expect(stderr.text).toMatch(/metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/);

    const rows = screen.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const streams = new Set(rows.map((r) => r.stream));
    expect(streams).toEqual(new Set(['trades', 'quotes']));
    const trade = rows.find((r) => r.stream === 'trades');
    expect(Object.keys(trade)).toEqual(['stream', 'ts', 'symbol', 'price', 'size']);
    expect(trade.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    for (const stream of ['trades', 'quotes']) {
      const table = tableFromIPC(await readFile(join(dir, 'out', `${stream}.arrows`)));
      // A live view may drop batches; the durable file has every row the console saw, or more.
      expect(table.numRows).toBeGreaterThanOrEqual(rows.filter((r) => r.stream === stream).length);
      expect(table.numRows).toBeGreaterThan(0);
      const symbols = new Set([...table.getChild('symbol')!].map(String));
      for (const s of symbols) expect(['BTC-USD', 'ETH-USD', 'SOL-USD']).toContain(s);
    }
  });
});

describe('examples/demo.yaml end to end (the npm start pipeline)', () => {
  let dir: string;
  let sim: ExchangeSimulator | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'polaroid-demo-ops-'));
  });
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('produces 1 s bars, a rolling VWAP and trades joined with their prevailing quote', async () => {
    sim = await ExchangeSimulator.start({ port: 0, rate: 400, seed: 5 });
    const config = join(dir, 'demo.yaml');
    await copyFile(DEMO_CONFIG, config);
    const screen = new Capture();
    const stderr = new Capture();
    const io: CliIo = { stdout: new Capture(), stderr, env: {}, cwd: dir, signals: new EventEmitter() };
    const code = await runPipelineFile(config, io, {
      registry: withOperators(connectorsWritingTo(screen)),
      env: { FEED_URL: sim.url, METRICS_LISTEN: '127.0.0.1:0' },
      forMs: 2600,
      status: false,
    });
    expect(code, stderr.text).toBe(0);

    const bars = tableFromIPC(await readFile(join(dir, 'out', 'bars_1s.arrows')));
    expect(bars.numRows).toBeGreaterThan(0);
    for (const c of ['open', 'high', 'low', 'close', 'volume', 'vwap', 'trades'])
      expect(bars.schema.fields.map((f) => f.name)).toContain(c);
    const high = [...bars.getChild('high')!] as number[];
    const low = [...bars.getChild('low')!] as number[];
    for (let i = 0; i < high.length; i++) expect(high[i]).toBeGreaterThanOrEqual(low[i]);

    const joined = tableFromIPC(await readFile(join(dir, 'out', 'trades_with_quotes.arrows')));
    const trades = tableFromIPC(await readFile(join(dir, 'out', 'trades.arrows')));
    expect(joined.numRows).toBeGreaterThan(0);
    expect(joined.numRows).toBeLessThanOrEqual(trades.numRows);
    const bids = [...joined.getChild('bid')!].filter((b) => b !== null);
    expect(bids.length).toBeGreaterThan(joined.numRows / 2);

    const vwapRows = screen.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((r) => r.stream === 'vwap_10s');
    expect(vwapRows.length).toBeGreaterThan(0);
    expect(Object.keys(vwapRows[0])).toEqual(expect.arrayContaining(['vwap_10s', 'price_mean_10s']));
  });
});

describe('shipped example configs (C-5)', () => {
  it('every file in examples/ lints clean with the default registry', () => {
    const results = lintFiles([resolve(import.meta.dirname, '../examples')], defaultRegistry(), {});
    expect(results.length).toBeGreaterThanOrEqual(2);
    expect(formatIssues(results)).toBe(`${results.length} files checked, no problems`);
  });

  it("the README's config example lints clean", async () => {
    const readme = await readFile(resolve(import.meta.dirname, '../README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks.length).toBeGreaterThan(0);
    const registry = new Registry();
    registerConnectors(registry);
    const dir = await mkdtemp(join(tmpdir(), 'polaroid-readme-'));
    try {
      const files = await Promise.all(
        blocks.map(async (text, i) => {
          const path = join(dir, `readme-${i}.yaml`);
          await writeFile(path, text);
          return path;
        }),
      );
      expect(formatIssues(lintFiles(files, registry, {}))).toBe(
        `${files.length} file${files.length === 1 ? '' : 's'} checked, no problems`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('examples/demo.yaml lints clean against the default registry', () => {
    const results = lintFiles([DEMO_CONFIG], defaultRegistry(), {});
    expect(formatIssues(results)).toBe('1 file checked, no problems');
  });
});
