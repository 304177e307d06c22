import { describe, expect, it } from 'vitest';
import { createLogger, MASK, maskFields } from './logger.ts';

function sink(isTTY = false) {
  const lines: string[] = [];
  return { lines, stream: { isTTY, write: (s: string) => lines.push(s) } };
}

describe('logger', () => {
  it('writes JSON lines off a terminal, with level, time, message and fields', () => {
    const s = sink();
    const log = createLogger({
      stream: s.stream,
      now: () => Date.UTC(2026, 0, 2, 3, 4, 5, 6),
      level: 'info',
    });
    log.info('source connected', { source: 'trades', n: 3 });
    expect(s.lines).toHaveLength(1);
    expect(s.lines[0].endsWith('\n')).toBe(true);
    expect(JSON.parse(s.lines[0])).toEqual({
      time: '2026-01-02T03:04:05.006Z',
      level: 'info',
      msg: 'source connected',
      source: 'trades',
      n: 3,
    });
  });

  it('writes short text lines on a terminal', () => {
    const s = sink(true);
    const log = createLogger({ stream: s.stream, now: () => Date.UTC(2026, 0, 2, 3, 4, 5, 6) });
    log.warn('sequence gap', { source: 'trades', scope: 'BTC USD' });
    expect(s.lines[0]).toBe('03:04:05.006 WARN  sequence gap source=trades scope="BTC USD"\n');
  });

  it('drops lines below the level', () => {
    const s = sink();
    const log = createLogger({ stream: s.stream, level: 'warn' });
    log.debug('a');
    log.info('b');
    log.warn('c');
    log.error('d');
    expect(s.lines.map((l) => JSON.parse(l).msg)).toEqual(['c', 'd']);
  });

  it('masks password, token and secret fields at any depth, also in child fields', () => {
    const s = sink();
    const log = createLogger({ stream: s.stream }).child({ apiToken: 'SECRET_CANARY_1' });
    log.error('connect failed', {
      password: 'SECRET_CANARY_2',
      nested: { client_secret: 'SECRET_CANARY_3', list: [{ Token: 'SECRET_CANARY_4' }], ok: 1 },
    });
    const line = s.lines.join('');
    expect(line).not.toContain('SECRET_CANARY');
    const obj = JSON.parse(line);
    expect(obj.apiToken).toBe(MASK);
    expect(obj.password).toBe(MASK);
    expect(obj.nested.client_secret).toBe(MASK);
    expect(obj.nested.list[0].Token).toBe(MASK);
    expect(obj.nested.ok).toBe(1);
  });

  it('turns errors into name, message and code', () => {
    const err = Object.assign(new TypeError('boom'), { code: 'E_X' });
    expect(maskFields({ error: err, big: 2n })).toEqual({
      error: { name: 'TypeError', message: 'boom', code: 'E_X' },
      big: '2',
    });
  });

  it('masks URL passwords in the message, string fields and error messages (C-6)', () => {
    const s = sink();
    const log = createLogger({ stream: s.stream });
    log.error('cannot connect to amqp://desk:SECRET_CANARY_5@127.0.0.1:5672/', {
      url: 'kafka://u:SECRET_CANARY_6@127.0.0.1:9092',
      err: new Error('refused: http://admin:SECRET_CANARY_7@127.0.0.1:9000/exec'),
      api_key: 'SECRET_CANARY_8',
    });
    const line = s.lines.join('');
    expect(line).not.toContain('SECRET_CANARY');
    const obj = JSON.parse(line);
    expect(obj.msg).toBe('cannot connect to amqp://desk:***@127.0.0.1:5672/');
    expect(obj.url).toBe('kafka://u:***@127.0.0.1:9092');
    expect(obj.err.message).toBe('refused: http://admin:***@127.0.0.1:9000/exec');
    expect(obj.api_key).toBe(MASK);
  });
});
