import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type AppendFile, FileDeadLetters, MemoryDeadLetters } from './dead-letters.ts';
import { DeadLetterWriteError } from './errors.ts';
import type { DeadLetter } from './types.ts';

const letter = (i: number): DeadLetter => ({
  source: 'trades',
  position: `ws seq=${i}`,
  reason: 'price is not a number',
  payload: `{"p":"x${i}"}`,
  at: 1_700_000_000_000 + i,
});

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'polaroid-dlq-'));
  dirs.push(d);
  return d;
}

/** A file whose append/sync steps the test releases one by one, recording the order. */
function controlledFile() {
  const events: string[] = [];
  const syncs: (() => void)[] = [];
  const file: AppendFile = {
    append: async (text) => {
      events.push(`append ${text.split('\n').length - 1}`);
    },
    sync: () =>
      new Promise<void>((r) => {
        events.push('sync start');
        syncs.push(() => {
          events.push('sync done');
          r();
        });
      }),
    close: async () => {
      events.push('close');
    },
  };
  return { events, syncs, file };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('FileDeadLetters', () => {
  it('appends one JSON object per line in write order and creates the folder', async () => {
    const path = join(await tmp(), 'out', 'dead-letters.jsonl');
    const dlq = new FileDeadLetters(path);
    await Promise.all(Array.from({ length: 50 }, (_, i) => dlq.write(letter(i))));
    await dlq.write(letter(50));
    await dlq.close();
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(Array.from({ length: 51 }, (_, i) => letter(i)));
    expect(dlq.written).toBe(51);
    expect(dlq.syncCount).toBeLessThan(10);
  });

  it('resolves a write only after fdatasync returned, grouping letters that arrive meanwhile', async () => {
    const c = controlledFile();
    const dlq = new FileDeadLetters('/unused', { open: async () => c.file });
    const done: number[] = [];
    dlq.write(letter(1)).then(() => done.push(1));
    dlq.write(letter(2)).then(() => done.push(2));
    await tick();
    expect(c.events).toEqual(['append 2', 'sync start']);
    dlq.write(letter(3)).then(() => done.push(3));
    dlq.write(letter(4)).then(() => done.push(4));
    await tick();
    expect(done).toEqual([]);
    c.syncs[0]();
    await tick();
    expect(done).toEqual([1, 2]);
    expect(c.events).toEqual(['append 2', 'sync start', 'sync done', 'append 2', 'sync start']);
    c.syncs[1]();
    await tick();
    expect(done).toEqual([1, 2, 3, 4]);
    expect(dlq.syncCount).toBe(2);
  });

  it('rejects the letters of a failed round with a coded error and keeps working', async () => {
    let fail = true;
    const file: AppendFile = {
      append: async () => {
        if (fail) throw new Error('ENOSPC');
      },
      sync: async () => {},
      close: async () => {},
    };
    const dlq = new FileDeadLetters('/unused', { open: async () => file });
    const r = await Promise.allSettled([dlq.write(letter(1)), dlq.write(letter(2))]);
    expect(r.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    const reason = (r[0] as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(DeadLetterWriteError);
    expect(reason.code).toBe('POLAROID_DEAD_LETTER_WRITE');
    expect(reason.retriable).toBe(true);
    fail = false;
    await dlq.write(letter(3));
    expect(dlq.written).toBe(1);
  });

  it('creates no file when nothing was dead-lettered, and refuses writes after close', async () => {
    const path = join(await tmp(), 'dlq.jsonl');
    const dlq = new FileDeadLetters(path);
    await dlq.close();
    expect(existsSync(path)).toBe(false);
    await expect(dlq.write(letter(1))).rejects.toBeInstanceOf(DeadLetterWriteError);
  });
});

describe('MemoryDeadLetters', () => {
  it('is durable at once by default', async () => {
    const dlq = new MemoryDeadLetters();
    await dlq.write(letter(1));
    expect(dlq.letters).toEqual([letter(1)]);
  });

  it('holds writes until settled in manual mode', async () => {
    const dlq = new MemoryDeadLetters({ manual: true });
    const a = dlq.write(letter(1));
    const b = dlq.write(letter(2));
    expect(dlq.pending).toBe(2);
    expect(dlq.letters).toEqual([]);
    dlq.settle(true);
    dlq.settle(false);
    await a;
    await expect(b).rejects.toBeInstanceOf(DeadLetterWriteError);
    expect(dlq.letters).toEqual([letter(1)]);
    expect(dlq.settle()).toBe(false);
  });
});
