/**
 * `arrow_file` sink: appends batches to an Arrow IPC stream file (schema once, then dictionary
 * deltas and record batches). A write resolves only after its bytes are written and fdatasync'd,
 * so acks released on it survive a crash. Arrow stream readers (pyarrow `ipc.open_stream`,
 * arrow-js `tableFromIPC`) read the file, also while it is being written.
 */
import { mkdir, open, rename, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type RecordBatch, RecordBatchStreamWriter, type Schema } from 'apache-arrow';
import { z } from 'zod';
import type { SinkSpec } from '../../config/registry.ts';
import { PolaroidError } from '../../pipeline/errors.ts';
import type { Batch, ComponentContext, Sink } from '../../pipeline/types.ts';
import { DictionaryContinuity } from './dictionary-deltas.ts';

export const arrowFileConfig = z.strictObject({
  path: z
    .string()
    .min(1)
    .describe(
      'File to write, relative to the config file. `{stream}` is replaced by the stream name, ' +
        'which is required when the sink receives streams with different schemas',
    ),
  if_exists: z
    .enum(['rename', 'overwrite'])
    .default('rename')
    .describe(
      'When the file exists at start: rename it to <path>.1, <path>.2, ... (keeps what was acked) ' +
        'or overwrite it',
    ),
});
export type ArrowFileConfig = z.output<typeof arrowFileConfig>;

export class ArrowFileError extends PolaroidError {
  readonly code: 'ARROW_FILE_SCHEMA_MISMATCH' | 'ARROW_FILE_CLOSED' | 'ARROW_FILE_IO';
  readonly retriable: boolean;
  constructor(code: ArrowFileError['code'], message: string, retriable: boolean, cause?: unknown) {
    super(message, { cause });
    this.code = code;
    this.retriable = retriable;
  }
}

/** A stream writer whose bytes are collected synchronously instead of queued for a reader. */
class CollectingStreamWriter extends RecordBatchStreamWriter {
  private pending: Uint8Array[] = [];

  protected override _write(chunk: ArrayBufferView | ArrayBuffer): this {
    if (!this._started) return this;
    const bytes = ArrayBuffer.isView(chunk)
      ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      : new Uint8Array(chunk);
    if (bytes.byteLength > 0) {
      this.pending.push(bytes);
      this._position += bytes.byteLength;
    }
    return this;
  }

  /** Bytes produced since the last call. */
  take(): Uint8Array[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }
}

type FileHandle = Awaited<ReturnType<typeof open>>;

/** One output file: its handle, writer and dictionary state. */
class StreamFile {
  readonly path: string;
  readonly schema: Schema;
  private readonly writer = new CollectingStreamWriter({ autoDestroy: false });
  private readonly dictionaries: DictionaryContinuity;
  private readonly handle: FileHandle;

  private constructor(path: string, schema: Schema, handle: FileHandle) {
    this.path = path;
    this.schema = schema;
    this.handle = handle;
    this.dictionaries = new DictionaryContinuity(schema);
  }

  static async open(
    path: string,
    schema: Schema,
    ifExists: ArrowFileConfig['if_exists'],
  ): Promise<StreamFile> {
    await mkdir(dirname(path), { recursive: true });
    if (ifExists === 'rename') await moveAside(path);
    const handle = await open(path, 'w');
    return new StreamFile(path, schema, handle);
  }

  async append(data: RecordBatch): Promise<void> {
    this.writer.write(this.dictionaries.rebuild(data));
    await this.flush();
  }

  async close(): Promise<void> {
    this.writer.finish();
    try {
      await this.flush();
    } finally {
      await this.handle.close();
    }
  }

  /** Give up on this file after a failed write: release the handle, write nothing more. */
  async abandon(): Promise<void> {
    this.writer.take();
    await this.handle.close().catch(() => {});
  }

  private async flush(): Promise<void> {
    const chunks = this.writer.take();
    if (chunks.length > 0) await this.handle.writev(chunks);
    await this.handle.datasync();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Rename an existing file to the first free `<path>.<n>`. */
async function moveAside(path: string): Promise<void> {
  if (!(await exists(path))) return;
  let n = 1;
  while (await exists(`${path}.${n}`)) n++;
  await rename(path, `${path}.${n}`);
}

/** Resolve the output path of a stream: relative paths are taken from the config's folder. */
export function resolveArrowPath(template: string, stream: string, configDir: string): string {
  const path = template.replaceAll('{stream}', stream);
  return isAbsolute(path) ? path : resolve(configDir, path);
}

export class ArrowFileSink implements Sink {
  readonly durable = true;
  private readonly config: ArrowFileConfig;
  private readonly configDir: string;
  private readonly files = new Map<string, Promise<StreamFile>>();
  private tail: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(config: ArrowFileConfig, configDir: string) {
    this.config = config;
    this.configDir = configDir;
  }

  write(batch: Batch): Promise<void> {
    if (this.closed)
      return Promise.reject(new ArrowFileError('ARROW_FILE_CLOSED', 'arrow_file sink is closed', false));
    const done = this.tail.then(() => this.append(batch));
    this.tail = done.catch(() => {});
    return done;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    const files = await Promise.allSettled(this.files.values());
    const errors: unknown[] = [];
    for (const f of files) {
      if (f.status === 'fulfilled') await f.value.close().catch((e: unknown) => errors.push(e));
    }
    if (errors.length > 0)
      throw new ArrowFileError('ARROW_FILE_IO', 'closing arrow_file output failed', true, errors[0]);
  }

  private async append(batch: Batch): Promise<void> {
    const path = resolveArrowPath(this.config.path, batch.stream, this.configDir);
    let opening = this.files.get(path);
    if (!opening) {
      opening = StreamFile.open(path, batch.data.schema, this.config.if_exists);
      this.files.set(path, opening);
      opening.catch(() => this.files.delete(path));
    }
    let file: StreamFile;
    try {
      file = await opening;
    } catch (e) {
      throw new ArrowFileError('ARROW_FILE_IO', `cannot open ${path}: ${(e as Error).message}`, true, e);
    }
    if (!sameColumns(file.schema, batch.data.schema))
      throw new ArrowFileError(
        'ARROW_FILE_SCHEMA_MISMATCH',
        `stream "${batch.stream}" does not match the schema of ${path}; put {stream} in the path ` +
          'to write one file per stream',
        false,
      );
    try {
      await file.append(batch.data);
    } catch (e) {
      // The stream may now end in a torn message: start a new file at the next write (with
      // if_exists: rename the torn one is kept aside, readable up to its last whole batch).
      this.files.delete(path);
      await file.abandon();
      throw new ArrowFileError('ARROW_FILE_IO', `writing ${path} failed: ${(e as Error).message}`, true, e);
    }
  }
}

/** Same field names and types, ignoring dictionary ids (each batch may carry fresh ones). */
function sameColumns(a: Schema, b: Schema): boolean {
  if (a === b) return true;
  if (a.fields.length !== b.fields.length) return false;
  return a.fields.every((f, i) => {
    const g = b.fields[i];
    return f.name === g.name && String(f.type) === String(g.type);
  });
}

export const arrowFileSink: SinkSpec<ArrowFileConfig> = {
  kind: 'sink',
  name: 'arrow_file',
  summary: 'Appends batches to an Arrow IPC stream file; durable: acks after fdatasync',
  stability: 'beta',
  config: arrowFileConfig,
  examples: [
    { title: 'One file per stream', yaml: 'path: out/{stream}.arrows\n' },
    { title: 'Overwrite at each start', yaml: 'path: out/trades.arrows\nif_exists: overwrite\n' },
  ],
  create(config: ArrowFileConfig, ctx: ComponentContext): Sink {
    return new ArrowFileSink(config, ctx.configDir);
  },
};
