import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { AckSet } from '../pipeline/acks.ts';
import type { Batch } from '../pipeline/types.ts';
import { recordBatchFromVectors, timestampVector } from './arrow.ts';
import { reportStats } from './op-stats.ts';

describe('reportStats', () => {
  it('reports the growth of each mapped counter after each batch and at the end', () => {
    const stats = { late: 0, invalid: 0, emitted: 0 };
    const counted: [string, number][] = [];
    const input = new Subject<Batch>();
    input
      .pipe(
        reportStats(
          stats,
          { late: 'late_dropped', invalid: 'invalid' },
          { count: (e, n) => counted.push([e, n]) },
        ),
      )
      .subscribe();
    const batch: Batch = {
      stream: 's',
      data: recordBatchFromVectors({ ts: timestampVector(new Float64Array([1])) }),
      acks: AckSet.empty(),
    };
    stats.late = 2;
    stats.emitted = 5;
    input.next(batch);
    input.next(batch);
    stats.late = 3;
    stats.invalid = 1;
    input.complete();
    expect(counted).toEqual([
      ['late_dropped', 2],
      ['late_dropped', 1],
      ['invalid', 1],
    ]);
  });
});
