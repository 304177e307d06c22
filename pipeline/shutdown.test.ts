import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { installSignalHandlers, type SignalTarget } from './shutdown.ts';

function fakeProcess() {
  const em = new EventEmitter();
  return { em, target: em as unknown as SignalTarget };
}

function controlledPipeline() {
  const reasons: string[] = [];
  let finish!: (r: { graceful: boolean; abandoned: { messages: number } }) => void;
  let fail!: (e: Error) => void;
  const pipeline = {
    stop: (reason?: string) => {
      reasons.push(reason ?? '');
      return new Promise<{ graceful: boolean; abandoned: { messages: number } }>((res, rej) => {
        finish = res;
        fail = rej;
      });
    },
  };
  return {
    pipeline,
    reasons,
    finish: (r: Parameters<typeof finish>[0]) => finish(r),
    fail: (e: Error) => fail(e),
  };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('installSignalHandlers', () => {
  it('stops on SIGTERM and exits 0 after a clean stop', async () => {
    const { em, target } = fakeProcess();
    const p = controlledPipeline();
    const codes: number[] = [];
    installSignalHandlers(p.pipeline, { target, exit: (c) => codes.push(c) });
    em.emit('SIGTERM', 'SIGTERM');
    expect(p.reasons).toEqual(['signal SIGTERM']);
    expect(codes).toEqual([]);
    p.finish({ graceful: true, abandoned: { messages: 0 } });
    await tick();
    expect(codes).toEqual([0]);
  });

  it('exits 1 when the stop abandoned work or failed', async () => {
    for (const outcome of ['abandoned', 'failed'] as const) {
      const { em, target } = fakeProcess();
      const p = controlledPipeline();
      const codes: number[] = [];
      installSignalHandlers(p.pipeline, { target, exit: (c) => codes.push(c) });
      em.emit('SIGINT', 'SIGINT');
      if (outcome === 'abandoned') p.finish({ graceful: false, abandoned: { messages: 3 } });
      else p.fail(new Error('boom'));
      await tick();
      expect(codes).toEqual([1]);
    }
  });

  it('exits at once with 130 on a second signal', () => {
    const { em, target } = fakeProcess();
    const p = controlledPipeline();
    const codes: number[] = [];
    installSignalHandlers(p.pipeline, { target, exit: (c) => codes.push(c) });
    em.emit('SIGINT', 'SIGINT');
    em.emit('SIGINT', 'SIGINT');
    expect(p.reasons).toHaveLength(1);
    expect(codes).toEqual([130]);
  });

  it('removes its listeners when uninstalled', () => {
    const { em, target } = fakeProcess();
    const p = controlledPipeline();
    const off = installSignalHandlers(p.pipeline, { target, exit: () => {} });
    expect(em.listenerCount('SIGTERM')).toBe(1);
    off();
    expect(em.listenerCount('SIGTERM')).toBe(0);
    expect(em.listenerCount('SIGINT')).toBe(0);
  });
});
