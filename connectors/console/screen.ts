/**
 * A live area at the bottom of a terminal, redrawn in place at most a few times a second.
 * Several writers share it through named regions (the console sink's tables, the CLI's status
 * line); log lines printed through it scroll above the live area instead of tearing it.
 */
import type { SchedulerLike, Subscription } from 'rxjs';

/** The part of a TTY write stream the screen needs. */
export interface TerminalOut {
  write(text: string): unknown;
  /** Terminal width; lines are cut to it so that none wraps (wrapping breaks the redraw). */
  columns?: number;
}

interface Region {
  order: number;
  lines: string[];
}

const CLEAR_LINE = '\x1b[2K';
const CLEAR_DOWN = '\x1b[J';
const cursorUp = (n: number) => (n > 0 ? `\x1b[${n}A` : '');

/** Cut a line to `width` visible characters (the lines drawn here carry no escape codes). */
function fitWidth(line: string, width: number | undefined): string {
  if (!width || line.length < width) return line;
  return `${line.slice(0, Math.max(0, width - 2))}…`;
}

export class LiveScreen {
  private readonly out: TerminalOut;
  private readonly scheduler: SchedulerLike;
  private intervalMs: number;
  private readonly regions = new Map<string, Region>();
  private drawnLines = 0;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private timer: Subscription | undefined;
  private dirty = false;

  constructor(out: TerminalOut, scheduler: SchedulerLike, intervalMs = 250) {
    this.out = out;
    this.scheduler = scheduler;
    this.intervalMs = intervalMs;
  }

  /** Change the least time between two redraws (the screen may be shared; the last call wins). */
  throttle(intervalMs: number): void {
    this.intervalMs = intervalMs;
  }

  /** Replace a region's lines; regions are drawn by `order`, then by first use. */
  set(name: string, lines: string[], order = 0): void {
    const region = this.regions.get(name);
    if (region) region.lines = lines;
    else this.regions.set(name, { order, lines });
    this.dirty = true;
    this.schedule();
  }

  /** Remove a region (its lines disappear at the next redraw). */
  remove(name: string): void {
    if (this.regions.delete(name)) {
      this.dirty = true;
      this.schedule();
    }
  }

  /** Print text above the live area (for log lines); the live area is redrawn below it. */
  print(text: string): void {
    const body = text.endsWith('\n') ? text : `${text}\n`;
    this.out.write(`${this.erase()}${body}${this.compose()}`);
  }

  /** Draw now if anything changed, and stop the timer. The last frame stays on screen. */
  flush(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
    if (this.dirty) this.draw();
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.lastDraw + this.intervalMs - this.scheduler.now());
    this.timer = this.scheduler.schedule(() => {
      this.timer = undefined;
      this.draw();
    }, wait);
  }

  private draw(): void {
    this.lastDraw = this.scheduler.now();
    this.dirty = false;
    this.out.write(this.erase() + this.compose());
  }

  /** Escape codes that move to the top of the live area and clear it. */
  private erase(): string {
    const up = this.drawnLines > 0 ? `\r${cursorUp(this.drawnLines)}` : '\r';
    this.drawnLines = 0;
    return `${up}${CLEAR_DOWN}`;
  }

  private compose(): string {
    const regions = [...this.regions.values()].sort((a, b) => a.order - b.order);
    let text = '';
    let n = 0;
    for (const r of regions) {
      for (const line of r.lines) {
        text += `${CLEAR_LINE}${fitWidth(line, this.out.columns)}\n`;
        n++;
      }
    }
    this.drawnLines = n;
    return text;
  }
}

const screens = new WeakMap<object, LiveScreen>();

/**
 * The one live screen of a terminal stream: the console sink and the CLI status line must share
 * it, or their redraws overwrite each other.
 */
export function screenFor(out: TerminalOut, scheduler: SchedulerLike, intervalMs = 250): LiveScreen {
  let screen = screens.get(out);
  if (!screen) {
    screen = new LiveScreen(out, scheduler, intervalMs);
    screens.set(out, screen);
  }
  return screen;
}
