/**
 * Dead-letter outputs. `FileDeadLetters` appends one JSON object per line (`source`, `position`,
 * `reason`, `payload`, `at`) to a JSONL file; a write resolves only after the line is written and
 * `fdatasync` returned, so an ack that waits for it never runs ahead of the disk. Letters that
 * arrive while a sync is running are written together in the next round (group commit).
 * `MemoryDeadLetters` keeps letters in memory for tests, with durability under test control.
 */
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DeadLetterWriteError } from './errors.ts';
import type { DeadLetter, DeadLetters } from './types.ts';

/** The file operations the JSONL writer needs (injectable to test ordering). */
export interface AppendFile {
  append(text: string): Promise<void>;
  /** Make the appended data durable (fdatasync). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Open `path` for appending, creating it and its folder if needed. */
export async function openAppendFile(path: string): Promise<AppendFile> {
  await mkdir(dirname(path), { recursive: true });
  const fh = await open(path, 'a');
  return {
    append: async (text) => {
      await fh.appendFile(text, 'utf8');
    },
    sync: () => fh.datasync(),
    close: () => fh.close(),
  };
}

interface Waiting {
  line: string;
  resolve: () => void;
  reject: (e: Error) => void;
}

export interface FileDeadLettersOptions {
  open?: (path: string) => Promise<AppendFile>;
}

export class FileDeadLetters implements DeadLetters {
  readonly path: string;
  private readonly openFile: (path: string) => Promise<AppendFile>;
  private file: Promise<AppendFile> | undefined;
  private waiting: Waiting[] = [];
  private running: Promise<void> | undefined;
  private syncs = 0;
  private durable = 0;
  private closed = false;

  constructor(path: string, options: FileDeadLettersOptions = {}) {
    this.path = path;
    this.openFile = options.open ?? openAppendFile;
  }

  /** Letters made durable so far. */
  get written(): number {
    return this.durable;
  }

  /** Sync rounds so far (fewer than letters when writes were grouped). */
  get syncCount(): number {
    return this.syncs;
  }

  write(letter: DeadLetter): Promise<void> {
    if (this.closed)
      return Promise.reject(new DeadLetterWriteError(`dead-letter file ${this.path} is closed`));
    const line = `${JSON.stringify(letter)}\n`;
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ line, resolve, reject });
      this.running ??= Promise.resolve().then(() => this.drain());
    });
  }

  /** Wait for pending letters, then close the file. */
  async close(): Promise<void> {
    this.closed = true;
    await this.running;
    if (this.file !== undefined) await (await this.file).close();
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const group = this.waiting;
        this.waiting = [];
        try {
          this.file ??= this.openFile(this.path);
          const f = await this.file;
          let text = '';
          for (const w of group) text += w.line;
          await f.append(text);
          await f.sync();
          this.syncs++;
          this.durable += group.length;
          for (const w of group) w.resolve();
        } catch (cause) {
          const err = new DeadLetterWriteError(`cannot write dead letters to ${this.path}`, { cause });
          for (const w of group) w.reject(err);
        }
      }
    } finally {
      this.running = undefined;
    }
  }
}

/**
 * Dead letters kept in memory. By default a write is durable at once; with `manual: true` writes
 * wait until the test calls `settle()`.
 */
export class MemoryDeadLetters implements DeadLetters {
  /** Letters whose write resolved, in order. */
  readonly letters: DeadLetter[] = [];
  private readonly queue: { letter: DeadLetter; resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly manual: boolean;

  constructor(options: { manual?: boolean } = {}) {
    this.manual = options.manual ?? false;
  }

  /** Writes waiting for `settle()`. */
  get pending(): number {
    return this.queue.length;
  }

  write(letter: DeadLetter): Promise<void> {
    if (!this.manual) {
      this.letters.push(letter);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.queue.push({ letter, resolve, reject }));
  }

  /** Settle the oldest waiting write: durable when `ok`, failed otherwise. Returns false if none. */
  settle(ok = true): boolean {
    const w = this.queue.shift();
    if (w === undefined) return false;
    if (ok) {
      this.letters.push(w.letter);
      w.resolve();
    } else {
      w.reject(new DeadLetterWriteError('dead-letter write failed (test)'));
    }
    return true;
  }
}
