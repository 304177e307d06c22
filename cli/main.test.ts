import { EventEmitter } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { register as registerArrowFile } from '../connectors/arrow_file/index.ts';
import { FakeWorld, fakeRegistry } from '../pipeline/testing.ts';
import type { CliIo } from './io.ts';
import { main } from './main.ts';
import { runPipelineFile } from './run.ts';

class Capture {
  text = '';
  isTTY = false;
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

function testIo(env: Record<string, string | undefined> = {}) {
  const stdout = new Capture();
  const stderr = new Capture();
  const signals = new EventEmitter();
  const exits: number[] = [];
  const io: CliIo = { stdout, stderr, env, cwd: process.cwd(), signals, exit: (c) => exits.push(c) };
  return { io, stdout, stderr, signals, exits };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'polaroid-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('polaroid CLI: usage', () => {
  it('prints help with --help and exits 0', async () => {
    const t = testIo();
    expect(await main(['--help'], t.io)).toBe(0);
    expect(t.stdout.text).toContain('polaroid run <config.yaml>');
    expect(t.stdout.text).toContain('polaroid lint <config.yaml|folder>...');
    expect(t.stdout.text).toContain('polaroid demo');
  });

  it('exits 2 with usage on no command, an unknown command or a bad option', async () => {
    const none = testIo();
    expect(await main([], none.io)).toBe(2);
    expect(none.stderr.text).toContain('Usage:');

    const unknown = testIo();
    expect(await main(['serve'], unknown.io)).toBe(2);
    expect(unknown.stderr.text).toContain('unknown command "serve"');

    const bad = testIo();
    expect(await main(['run', 'x.yaml', '--bogus'], bad.io)).toBe(2);
    expect(bad.stderr.text).toContain("Unknown option '--bogus'");

    const badFor = testIo();
    expect(await main(['run', 'x.yaml', '--for', 'soon'], badFor.io)).toBe(2);
    expect(badFor.stderr.text).toContain('--for expects a duration');
  });
});

describe('polaroid simulate', () => {
  it('serves the feed until a signal, then stops with exit 0', async () => {
    const t = testIo();
    const running = main(['simulate', '--port', '0', '--rate', '50', '--seed', '7'], t.io);
    for (let i = 0; i < 200 && !t.stderr.text.includes('feed at'); i++)
      await new Promise((r) => setTimeout(r, 10));
    const url = /feed at (ws:\/\/127\.0\.0\.1:\d+\/ws)/.exec(t.stderr.text)?.[1];
    expect(url).toBeDefined();
    const rest = url!.replace('ws://', 'http://').replace('/ws', '/control/stats');
    expect((await fetch(rest)).status).toBe(200);
    t.signals.emit('SIGTERM');
    expect(await running).toBe(0);
    await expect(fetch(rest)).rejects.toThrow();
  });

  it('prints the simulator options with --help, and exits 2 on a bad one', async () => {
    const help = testIo();
    expect(await main(['simulate', '--help'], help.io)).toBe(0);
    expect(help.stdout.text).toContain('--fault AT:KIND[:N]');
    const bad = testIo();
    expect(await main(['simulate', '--rate', '-1'], bad.io)).toBe(2);
    expect(bad.stderr.text).toContain('--rate expects a positive number');
  });
});

describe('polaroid lint', () => {
  it('exits 0 on clean files and 1 with file:line:col messages on any problem', async () => {
    const clean = await file('clean.yaml', 'sources: {}\n');
    const broken = await file('broken.yaml', 'sources: {}\nsinkz: {}\n');

    const ok = testIo();
    expect(await main(['lint', clean], ok.io)).toBe(0);
    expect(ok.stderr.text).toBe('1 file checked, no problems\n');

    const bad = testIo();
    expect(await main(['lint', clean, broken], bad.io)).toBe(1);
    expect(bad.stdout.text).toMatch(
      new RegExp(`^${broken.replaceAll('.', '\\.')}:2:1: sinkz: unknown field`),
    );
    expect(bad.stdout.text.trim().split('\n').at(-1)).toBe('1 problem in 1 of 2 files');
  });

  it('reports an unset variable without printing any value', async () => {
    const withVar = await file('var.yaml', `sources: {}\nhttp: { listen: "\${LISTEN_ADDR}" }\n`);
    const t = testIo({ OTHER: 'SECRET_CANARY_7f3a' });
    expect(await main(['lint', withVar], t.io)).toBe(1);
    expect(t.stdout.text).toContain(`${withVar}:2:`);
    expect(t.stdout.text).toContain('LISTEN_ADDR');
    expect(t.stdout.text + t.stderr.text).not.toContain('SECRET_CANARY');
  });

  it('lints the YAML files of a folder', async () => {
    await file('a.yaml', 'sources: {}\n');
    await file('b.yml', 'sources: []\n');
    const t = testIo();
    expect(await main(['lint', dir], t.io)).toBe(1);
    expect(t.stdout.text).toContain(`${join(dir, 'b.yml')}:1:`);
    expect(t.stdout.text).toContain('1 problem in 1 of 2 files');
  });

  it('needs at least one file', async () => {
    const t = testIo();
    expect(await main(['lint'], t.io)).toBe(2);
  });
});

describe('polaroid run', () => {
  it('refuses an invalid config before starting anything, with exit code 1', async () => {
    const broken = await file('broken.yaml', 'sources: {}\nhttp: { listen: 7 }\n');
    const t = testIo();
    expect(await main(['run', broken], t.io)).toBe(1);
    expect(t.stderr.text).toContain(`${broken}:2:`);
    expect(t.stderr.text).toContain('nothing was started');
  });

  /** A pipeline from a fake source (driven by the test) to a real arrow_file sink. */
  async function fakePipelineFile(): Promise<{
    path: string;
    world: FakeWorld;
    registry: ReturnType<typeof fakeRegistry>;
  }> {
    const world = new FakeWorld();
    const registry = fakeRegistry(world);
    registerArrowFile(registry);
    const path = await file(
      'fake.yaml',
      [
        'sources:',
        '  ticks:',
        '    type: fake',
        '    schema: { id: i64 }',
        '    decode: { format: json, fields: {} }',
        '    batch: { count: 2, bytes: 1000000, period: 10 }',
        '    backpressure: { high_water: 1000, low_water: 10 }',
        'sinks:',
        '  file:',
        '    type: arrow_file',
        '    from: ticks',
        '    path: out/{stream}.arrows',
        'http:',
        '  listen: 127.0.0.1:0',
        'shutdown: { timeout: 5s }',
      ].join('\n'),
    );
    return { path, world, registry };
  }

  async function until(check: () => boolean): Promise<void> {
    for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(check()).toBe(true);
  }

  it('runs until SIGINT, then stops gracefully: rows written, acks sent, exit 0', async () => {
    const { path, world, registry } = await fakePipelineFile();
    const t = testIo();
    const running = runPipelineFile(path, t.io, { status: true, registry });
    await until(() => t.stderr.text.includes('Ctrl-C stops gracefully'));
    expect(t.stderr.text).toMatch(/metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/);

    const source = world.source('ticks');
    for (let id = 1; id <= 5; id++) source.push(JSON.stringify({ id }));
    t.signals.emit('SIGINT');
    expect(await running).toBe(0);
    expect(t.stderr.text).toContain('"msg":"signal received: stopping"');
    expect(source.count('acked')).toBe(5);
    expect(t.signals.listenerCount('SIGINT')).toBe(0);

    const table = tableFromIPC(await readFile(join(dir, 'out/ticks.arrows')));
    expect([...table.getChild('id')!].map(Number)).toEqual([1, 2, 3, 4, 5]);
  });

  it('stops by itself after --for', async () => {
    const { path, registry } = await fakePipelineFile();
    const t = testIo();
    expect(await runPipelineFile(path, t.io, { status: false, registry, forMs: 50 })).toBe(0);
    expect(t.stderr.text).toContain('stopping (--for elapsed)');
  });

  it('a second signal stops at once with exit code 130', async () => {
    const { path, world, registry } = await fakePipelineFile();
    const t = testIo();
    const running = runPipelineFile(path, t.io, { status: false, registry });
    await until(() => t.stderr.text.includes('Ctrl-C stops gracefully'));
    // The source's stop never finishes, so the graceful stop hangs until the second signal.
    world.source('ticks').stop = () => new Promise(() => {});
    t.signals.emit('SIGTERM');
    await until(() => t.stderr.text.includes('"msg":"signal received: stopping"'));
    t.signals.emit('SIGINT');
    expect(await running).toBe(130);
    expect(t.exits).toEqual([130]);
  });
});
