// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the ${VAR} syntax is what these tests check
import { describe, expect, it } from 'vitest';
import { isSecretField, redactConfig, redactUrl } from './redact.ts';

const CANARY = 'SECRET_CANARY_7f3a9c';

describe('redactUrl', () => {
  it.each([
    ['amqp://user:pass@host', 'amqp://user:***@host'],
    ['amqp://user:pass@host:5672/vhost?heartbeat=10', 'amqp://user:***@host:5672/vhost?heartbeat=10'],
    [
      'connect to kafka://svc:p%40ss@b1:9092 and http://a:b@c/d',
      'connect to kafka://svc:***@b1:9092 and http://a:***@c/d',
    ],
    ['wss://:token@feed.example/ws', 'wss://:***@feed.example/ws'],
    ['amqp://user@host', 'amqp://user@host'],
    ['http://host:8080/path', 'http://host:8080/path'],
    ['no url here: a:b@c', 'no url here: a:b@c'],
  ])('%s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });
});

describe('isSecretField', () => {
  it.each([
    ['password', true],
    ['sasl_password', true],
    ['apiKey', true],
    ['api-key', true],
    ['token', true],
    ['client_secret', true],
    ['tls_key', true],
    ['dedup_keys', false],
    ['url', false],
    ['passive', false],
    ['max_in_flight', false],
  ])('%s → %s', (name, expected) => {
    expect(isSecretField(name)).toBe(expected);
  });
});

describe('redactConfig', () => {
  it('masks secret fields and URL passwords, keeps the rest and the input intact', () => {
    const config = {
      sources: {
        q: {
          type: 'amqp',
          url: `amqp://svc:${CANARY}@mq:5672/`,
          sasl: { mechanism: 'plain', username: 'u', password: CANARY },
          prefetch: 100,
        },
      },
      sinks: {
        db: { type: 'questdb', token: CANARY, dedup_keys: ['ts', 'symbol'], tls: { key: CANARY, pin: 7 } },
      },
      list: [{ secret: 42 }, 'http://a:b@c/'],
    };
    const before = JSON.stringify(config);
    const out = redactConfig(config);
    expect(JSON.stringify(config)).toBe(before);
    expect(JSON.stringify(out)).not.toContain(CANARY);
    expect(out).toEqual({
      sources: {
        q: {
          type: 'amqp',
          url: 'amqp://svc:***@mq:5672/',
          sasl: { mechanism: 'plain', username: 'u', password: '***' },
          prefetch: 100,
        },
      },
      sinks: {
        db: { type: 'questdb', token: '***', dedup_keys: ['ts', 'symbol'], tls: { key: '***', pin: 7 } },
      },
      list: [{ secret: '***' }, 'http://a:***@c/'],
    });
  });

  it('shows an unresolved ${VAR} reference instead of masking it', () => {
    expect(redactConfig({ token: '${QDB_TOKEN}', password: '${DB_PASS:-x}', key: 'abc' })).toEqual({
      token: '${QDB_TOKEN}',
      password: '${DB_PASS:-x}',
      key: '***',
    });
  });
});
