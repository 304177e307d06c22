/**
 * Operators keep counters of the rows they drop or change on purpose (late rows, invalid rows,
 * evicted history) in a plain stats object; this reports their growth to the pipeline's metrics
 * after each output batch and at the end, so in a YAML pipeline no drop is silent.
 */
import { type MonoTypeOperatorFunction, tap } from 'rxjs';
import type { Batch, ComponentContext } from '../pipeline/types.ts';

/** Stats field → metric event name (`late_dropped`, `invalid`, ...). */
export type StatEvents<S> = Partial<Record<keyof S & string, string>>;

export function reportStats<S extends object>(
  stats: S,
  events: StatEvents<S>,
  ctx: Pick<ComponentContext, 'count'>,
): MonoTypeOperatorFunction<Batch> {
  const fields = Object.keys(events) as (keyof S & string)[];
  const seen = new Map<string, number>(fields.map((f) => [f, 0]));
  const report = () => {
    if (!ctx.count) return;
    for (const f of fields) {
      const now = stats[f] as unknown as number;
      const delta = now - (seen.get(f) ?? 0);
      if (delta > 0) {
        ctx.count(events[f]!, delta);
        seen.set(f, now);
      }
    }
  };
  return tap({ next: report, complete: report, error: report });
}
