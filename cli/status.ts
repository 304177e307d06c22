/**
 * The live status line of `polaroid run` on a terminal: per source its rate, batches, and gaps,
 * drops and dead letters when there are any; per sink its failures and pending writes when
 * there are any. Short enough for one terminal line in the common case.
 */
import type { PipelineStatus } from '../pipeline/runtime.ts';

/** 1234 → 1.2k, 2500000 → 2.5M. */
export function compact(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

export function statusLine(s: PipelineStatus): string {
  const parts: string[] = [];
  for (const src of s.sources) {
    let text = `${src.name} ${compact(src.rowsPerSec)} rows/s ${compact(src.batches)} batches`;
    if (!src.connected) text += ' DOWN';
    if (src.paused) text += ' paused';
    if (src.gaps > 0) text += ` ${compact(src.gaps)} gaps`;
    if (src.drops > 0) text += ` ${compact(src.drops)} drops`;
    if (src.deadLettered > 0) text += ` ${compact(src.deadLettered)} dead-lettered`;
    parts.push(text);
  }
  for (const sink of s.sinks) {
    const extra: string[] = [];
    if (sink.failures > 0) extra.push(`${compact(sink.failures)} failed writes`);
    if (sink.dropped > 0) extra.push(`${compact(sink.dropped)} dropped`);
    if (sink.pending > 1) extra.push(`${sink.pending} pending`);
    if (extra.length > 0) parts.push(`${sink.name} ${extra.join(' ')}`);
  }
  const state = s.state === 'running' ? '' : `${s.state.toUpperCase()} │ `;
  return `${state}${parts.join(' │ ')}`;
}
