import { describe, expect, it } from 'vitest';
import type { BatchPolicy } from '../config/common.ts';
import type { AckHandle } from './acks.ts';
import { Batcher, splitAck } from './batcher.ts';
import { VirtualClock } from './clock.ts';
import { MemoryDeadLetters } from './dead-letters.ts';
import { FakeDecoder, idsOf } from './testing.ts';
import type { Batch, Envelope } from './types.ts';

interface Rec {
  state: 'pending' | 'acked' | 'nacked';
}

function setup(policy: Partial<BatchPolicy>, dlq = new MemoryDeadLetters()) {
  const clock = new VirtualClock(1_700_000_000_000);
  const out: { batch: Batch; bytes: number; at: number }[] = [];
  const batcher = new Batcher(
    {
      stream: 's',
      decoder: new FakeDecoder(),
      policy: { count: 1_000, bytes: 1 << 30, period: 100, ...policy },
      clock,
      deadLetters: dlq,
    },
    (batch, bytes) => out.push({ batch, bytes, at: clock.now() - 1_700_000_000_000 }),
  );
  let seq = 0;
  const push = (payload: string): Rec => {
    const rec: Rec = { state: 'pending' };
    const ack: AckHandle = {
      ack: () => {
        if (rec.state === 'pending') rec.state = 'acked';
      },
      nack: () => {
        if (rec.state === 'pending') rec.state = 'nacked';
      },
    };
    const env: Envelope = { payload, receivedAt: clock.now(), ack, position: `p${seq++}` };
    batcher.push(env);
    return rec;
  };
  const ids = () => out.map((o) => idsOf(o.batch.data));
  return { clock, out, batcher, push, ids, dlq };
}

const flushMicrotasks = () => new Promise<void>((r) => setImmediate(r));

describe('Batcher policy', () => {
  it('flushes when the pending rows reach count', () => {
    const t = setup({ count: 3, period: 0 });
    t.push('1');
    t.push('2');
    expect(t.out).toHaveLength(0);
    t.push('3');
    expect(t.ids()).toEqual([[1, 2, 3]]);
    expect(t.out[0].batch.acks.size).toBe(3);
    expect(t.out[0].batch.stream).toBe('s');
  });

  it('flushes after the message that crosses count, keeping a message whole', () => {
    const t = setup({ count: 3, period: 0 });
    t.push('1,2');
    t.push('3,4');
    expect(t.ids()).toEqual([[1, 2, 3, 4]]);
  });

  it('flushes when the pending payload bytes reach bytes', () => {
    const t = setup({ bytes: 8, period: 0 });
    t.push('1,2,3');
    expect(t.out).toHaveLength(0);
    t.push('4,5');
    expect(t.ids()).toEqual([[1, 2, 3, 4, 5]]);
    expect(t.out[0].bytes).toBe(8);
    t.push('66666,7777');
    expect(t.out[1].bytes).toBe(10);
  });

  it('flushes on period, measured from the last flush', () => {
    const t = setup({ period: 100 });
    t.clock.advance(20);
    t.push('1');
    t.clock.advance(79);
    expect(t.out).toHaveLength(0);
    t.clock.advance(1);
    expect(t.out.map((o) => o.at)).toEqual([100]);
    t.clock.advance(50);
    t.push('2');
    t.clock.advance(49);
    expect(t.out).toHaveLength(1);
    t.clock.advance(1);
    expect(t.out.map((o) => o.at)).toEqual([100, 200]);
  });

  it('restarts the period after a count flush', () => {
    const t = setup({ count: 2, period: 100 });
    t.clock.advance(60);
    t.push('1,2');
    t.push('3');
    t.clock.advance(99);
    expect(t.out.map((o) => o.at)).toEqual([60]);
    t.clock.advance(1);
    expect(t.out.map((o) => o.at)).toEqual([60, 160]);
    expect(t.ids()).toEqual([[1, 2], [3]]);
  });

  it('makes no empty batch when idle, then flushes the first rows after the idle gap at once', () => {
    const t = setup({ period: 100 });
    t.clock.advance(1_000);
    expect(t.out).toHaveLength(0);
    expect(t.clock.pending).toBe(0);
    t.push('');
    expect(t.out).toHaveLength(0);
    t.push('5');
    expect(t.out.map((o) => o.at)).toEqual([1_000]);
    t.push('6');
    t.clock.advance(100);
    expect(t.ids()).toEqual([[5], [6]]);
    expect(t.out.map((o) => o.at)).toEqual([1_000, 1_100]);
  });

  it('mixes limits: whichever comes first', () => {
    const t = setup({ count: 4, bytes: 12, period: 100 });
    t.push('1,2,3,4');
    t.clock.advance(10);
    t.push('55555,66666,7');
    t.clock.advance(10);
    t.push('8');
    t.clock.advance(100);
    expect(t.ids()).toEqual([[1, 2, 3, 4], [55555, 66666, 7], [8]]);
    expect(t.out.map((o) => o.at)).toEqual([0, 10, 110]);
  });

  it('flushes the pending rows on close and then refuses pushes', () => {
    const t = setup({ period: 100 });
    const a = t.push('1,2');
    t.batcher.close();
    expect(t.ids()).toEqual([[1, 2]]);
    expect(t.clock.pending).toBe(0);
    const late = t.push('3');
    expect(late.state).toBe('nacked');
    t.out[0].batch.acks.ack();
    expect(a.state).toBe('acked');
  });

  it('acks a message with no rows and no rejects at once', () => {
    const t = setup({});
    expect(t.push('').state).toBe('acked');
    expect(t.out).toHaveLength(0);
  });
});

describe('Batcher dead letters', () => {
  it('acks only after both the batch is delivered and the letters are durable', async () => {
    const dlq = new MemoryDeadLetters({ manual: true });
    const t = setup({ period: 0, count: 2 }, dlq);
    const m = t.push('1,!x,2');
    expect(t.ids()).toEqual([[1, 2]]);
    t.out[0].batch.acks.ack();
    await flushMicrotasks();
    expect(m.state).toBe('pending');
    dlq.settle(true);
    await flushMicrotasks();
    expect(m.state).toBe('acked');
    expect(dlq.letters).toEqual([
      {
        source: 's',
        position: 'p0',
        reason: 'rejected by the fake decoder',
        payload: 'x',
        at: 1_700_000_000_000,
      },
    ]);
  });

  it('acks in the other order too, and a message of rejects only waits for the letters', async () => {
    const dlq = new MemoryDeadLetters({ manual: true });
    const t = setup({ period: 0, count: 1 }, dlq);
    const m = t.push('!a,3,!b');
    const onlyBad = t.push('!c');
    dlq.settle(true);
    dlq.settle(true);
    await flushMicrotasks();
    expect(m.state).toBe('pending');
    t.out[0].batch.acks.ack();
    expect(m.state).toBe('acked');
    expect(onlyBad.state).toBe('pending');
    dlq.settle(true);
    await flushMicrotasks();
    expect(onlyBad.state).toBe('acked');
    expect(t.out).toHaveLength(1);
  });

  it('nacks the message when a dead letter cannot be made durable', async () => {
    const dlq = new MemoryDeadLetters({ manual: true });
    const t = setup({ period: 0, count: 1 }, dlq);
    const m = t.push('1,!x');
    dlq.settle(false);
    await flushMicrotasks();
    expect(m.state).toBe('nacked');
    t.out[0].batch.acks.ack();
    expect(m.state).toBe('nacked');
  });
});

describe('splitAck', () => {
  const target = () => {
    const calls: string[] = [];
    return { calls, h: { ack: () => calls.push('ack'), nack: () => calls.push('nack') } as AckHandle };
  };

  it('acks the target once every part acked, each part counting once', () => {
    const t = target();
    const [a, b, c] = splitAck(t.h, 3);
    a.ack();
    a.ack();
    b.ack();
    expect(t.calls).toEqual([]);
    c.ack();
    expect(t.calls).toEqual(['ack']);
  });

  it('nacks the target on the first nack and ignores the rest', () => {
    const t = target();
    const [a, b] = splitAck(t.h, 2);
    b.nack(new Error('x'));
    a.ack();
    b.ack();
    expect(t.calls).toEqual(['nack']);
  });

  it('returns the target itself for one part', () => {
    const t = target();
    expect(splitAck(t.h, 1)[0]).toBe(t.h);
    expect(() => splitAck(t.h, 0)).toThrow(RangeError);
  });
});
