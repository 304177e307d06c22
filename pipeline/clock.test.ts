import { timer } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { systemClock, VirtualClock } from './clock.ts';

describe('VirtualClock', () => {
  it('keeps now() and the scheduler in step and runs timers only when advanced', () => {
    const clock = new VirtualClock(1_000);
    const fired: number[] = [];
    timer(50, clock.scheduler).subscribe(() => fired.push(clock.now()));
    timer(120, clock.scheduler).subscribe(() => fired.push(clock.now()));
    expect(clock.now()).toBe(1_000);
    clock.advance(49);
    expect(fired).toEqual([]);
    expect(clock.now()).toBe(1_049);
    clock.advance(1);
    expect(fired).toEqual([1_050]);
    clock.advanceTo(1_200);
    expect(fired).toEqual([1_050, 1_120]);
    expect(clock.now()).toBe(1_200);
    expect(clock.scheduler.now()).toBe(200);
  });

  it('runs periodic timers once per period and refuses to go backwards', () => {
    const clock = new VirtualClock();
    let n = 0;
    const sub = timer(10, 10, clock.scheduler).subscribe(() => n++);
    clock.advance(95);
    expect(n).toBe(9);
    sub.unsubscribe();
    clock.advance(100);
    expect(n).toBe(9);
    expect(clock.pending).toBe(0);
    expect(() => clock.advance(-1)).toThrow(RangeError);
  });

  it('flush() runs every pending timer', () => {
    const clock = new VirtualClock();
    let done = false;
    timer(5_000, clock.scheduler).subscribe(() => {
      done = true;
    });
    clock.flush();
    expect(done).toBe(true);
    expect(clock.now()).toBe(5_000);
  });
});

describe('systemClock', () => {
  it('reads wall-clock time', () => {
    const before = Date.now();
    const t = systemClock.now();
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(Date.now());
  });
});
