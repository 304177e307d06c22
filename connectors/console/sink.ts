/**
 * `console` sink: a live view of the latest rows of each stream. On a terminal it keeps a compact
 * table per stream, redrawn in place a few times a second; otherwise (a pipe, a file, CI) it
 * writes JSON lines, one object per row with timestamps as ISO-8601. Not durable: printing a row
 * is not a reason to acknowledge it.
 */
import type { SchedulerLike } from 'rxjs';
import { z } from 'zod';
import { zDurationMs } from '../../config/common.ts';
import type { SinkSpec } from '../../config/registry.ts';
import type { Batch, ComponentContext, Sink } from '../../pipeline/types.ts';
import { type ColumnReader, cell, columnReaders, columnWidth, formatNumber } from './format.ts';
import { type LiveScreen, screenFor, type TerminalOut } from './screen.ts';

export const consoleConfig = z.strictObject({
  format: z
    .enum(['auto', 'table', 'jsonl'])
    .default('auto')
    .describe('table: live table (needs a terminal); jsonl: one JSON object per row; auto: table on a TTY'),
  max_rows: z
    .number()
    .int()
    .positive()
    .max(1000)
    .default(5)
    .describe('Latest rows shown per stream in the table'),
  columns: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe('Columns to show, in this order (default: all)'),
  refresh: zDurationMs.default(250).describe('Least time between two redraws of the table'),
});
export type ConsoleConfig = z.output<typeof consoleConfig>;

/** Where the console sink writes: stdout in a pipeline, a fake in tests. */
export interface ConsoleOut extends TerminalOut {
  isTTY?: boolean;
  once?(event: 'drain', listener: () => void): unknown;
}

interface StreamView {
  rows: number;
  batches: number;
  header: string;
  lines: string[];
}

export class ConsoleSink implements Sink {
  readonly durable = false;
  private readonly config: ConsoleConfig;
  private readonly out: ConsoleOut;
  private readonly name: string;
  private readonly screen: LiveScreen | undefined;
  private readonly views = new Map<string, StreamView>();

  constructor(config: ConsoleConfig, out: ConsoleOut, scheduler: SchedulerLike, name = 'console') {
    this.config = config;
    this.out = out;
    this.name = name;
    const table = config.format === 'table' || (config.format === 'auto' && out.isTTY === true);
    this.screen = table ? screenFor(out, scheduler) : undefined;
    this.screen?.throttle(config.refresh);
  }

  write(batch: Batch): Promise<void> {
    if (this.screen) {
      this.updateTable(batch);
      return Promise.resolve();
    }
    return this.writeJsonLines(batch);
  }

  async close(): Promise<void> {
    this.screen?.flush();
  }

  private writeJsonLines(batch: Batch): Promise<void> {
    const n = batch.data.numRows;
    if (n === 0) return Promise.resolve();
    const readers = columnReaders(batch.data, this.config.columns);
    const streamKey = readers.some((r) => r.name === 'stream') ? '_stream' : 'stream';
    let text = '';
    for (let i = 0; i < n; i++) {
      const row: Record<string, unknown> = { [streamKey]: batch.stream };
      for (const r of readers) row[r.name] = r.json(i);
      text += `${JSON.stringify(row)}\n`;
    }
    const flushed = this.out.write(text);
    if (flushed === false && this.out.once) {
      const once = this.out.once.bind(this.out);
      return new Promise((resolve) => once('drain', resolve));
    }
    return Promise.resolve();
  }

  private updateTable(batch: Batch): void {
    let view = this.views.get(batch.stream);
    const readers = columnReaders(batch.data, this.config.columns);
    const widths = readers.map(columnWidth);
    if (!view) {
      const header = `  ${readers.map((r, c) => cell(r.name, widths[c], r.kind)).join(' ')}`;
      view = { rows: 0, batches: 0, header, lines: [] };
      this.views.set(batch.stream, view);
    }
    const n = batch.data.numRows;
    view.rows += n;
    view.batches += 1;
    const max = this.config.max_rows;
    for (let i = Math.max(0, n - max); i < n; i++) view.lines.push(rowLine(readers, widths, i));
    if (view.lines.length > max) view.lines.splice(0, view.lines.length - max);
    const title = `${batch.stream} · ${formatNumber(view.rows)} rows · ${formatNumber(view.batches)} batches`;
    this.screen!.set(`${this.name}:${batch.stream}`, [title, view.header, ...view.lines]);
  }
}

function rowLine(readers: ColumnReader[], widths: number[], i: number): string {
  return `  ${readers.map((r, c) => cell(r.text(i), widths[c], r.kind)).join(' ')}`;
}

export const consoleSink: SinkSpec<ConsoleConfig> = {
  kind: 'sink',
  name: 'console',
  summary: 'Live table of the latest rows on a terminal, JSON lines otherwise; a live view, not durable',
  stability: 'beta',
  config: consoleConfig,
  examples: [
    { title: 'Latest rows of each stream', yaml: 'max_rows: 5\n' },
    { title: 'Some columns as JSON lines', yaml: 'format: jsonl\ncolumns: [ts, symbol, price]\n' },
  ],
  create(config: ConsoleConfig, ctx: ComponentContext): Sink {
    return new ConsoleSink(config, process.stdout, ctx.clock.scheduler, ctx.name);
  },
};
