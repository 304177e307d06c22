/**
 * Per-side peak RSS for the operator benchmarks (issue 3: "memory: peak RSS stated next to
 * Polars'"). A benchmark in one process holds both sides' data, so its whole-process peak says
 * little about either. Instead `measureRss(import.meta.url, side)` runs the bench file again in a
 * child process (`node --expose-gc --import tsx <file> --rss-child=<side>`); the file calls
 * `rssChild(import.meta.url, sides)` at top level, which, in that child, builds only that side's
 * input, runs its operation once and prints:
 *
 * - `data_mib`: resident MiB after building the input (garbage collected), before the operation;
 * - `peak_mib`: peak resident MiB (VmHWM) up to the end of the operation.
 *
 * The high-water mark is reset after the build (`5` to /proc/self/clear_refs, Linux >= 4.0), so a
 * transient peak while building the input (an Arrow-to-Polars copy, say) does not hide the
 * operation's own peak. Where the reset is refused, `data_mib` is the high-water mark after the
 * build instead, and the figures carry `hwm_reset: false`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One side: builds its input (untimed, unmeasured) and returns the operation to measure. */
export type RssSide = () => () => unknown;

export type RssFigures = { data_mib: number; peak_mib: number; hwm_reset?: false } | { error: string };

const FLAG = '--rss-child=';
const MARK = 'rss-child-figures ';

function statusMiB(field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'));
  return Math.round((m ? Number(m[1]) * 1024 : process.memoryUsage().rss) / 2 ** 20);
}

function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * If this process is an RSS child started by `measureRss` for the file `moduleUrl`, run the side
 * named on the command line and print its figures. A no-op anywhere else (the benchmark runner, or
 * another bench file's child).
 */
export async function rssChild(moduleUrl: string, sides: Record<string, RssSide>): Promise<void> {
  const arg = process.argv.find((a) => a.startsWith(FLAG));
  if (!arg || !process.argv[1] || resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  const name = arg.slice(FLAG.length);
  const side = sides[name];
  if (!side) throw new Error(`unknown rss side ${name}; known: ${Object.keys(sides).join(', ')}`);
  const op = side();
  globalThis.gc?.();
  // Let freed array buffers go back to the system before the figure is read.
  await new Promise((r) => setTimeout(r, 50));
  const reset = resetPeak();
  const data = reset ? statusMiB('VmRSS') : statusMiB('VmHWM');
  await op();
  const peak = statusMiB('VmHWM');
  const figures: RssFigures = reset
    ? { data_mib: data, peak_mib: peak }
    : { data_mib: data, peak_mib: peak, hwm_reset: false };
  process.stdout.write(`\n${MARK}${JSON.stringify(figures)}\n`);
}

/** Run one side of the bench file `moduleUrl` once in a child process and return its RSS figures. */
export function measureRss(moduleUrl: string, side: string): RssFigures {
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', fileURLToPath(moduleUrl), `${FLAG}${side}`],
    { encoding: 'utf8', maxBuffer: 16 * 2 ** 20 },
  );
  const line = r.stdout?.split('\n').find((l) => l.startsWith(MARK));
  if (r.status === 0 && line) return JSON.parse(line.slice(MARK.length)) as RssFigures;
  return { error: (r.stderr || r.stdout || String(r.error ?? `exit ${r.status}`)).slice(-300) };
}
