// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the ${VAR} syntax is what these tests check
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeRegistry } from '../tests/config/fakes.ts';
import { ConfigError, formatIssue } from './issues.ts';
import { loadConfig, validateConfigText } from './load.ts';

const BROKEN = resolve(import.meta.dirname, '../tests/config/broken');
const GOOD = resolve(import.meta.dirname, '../tests/config/good');
const CANARY = 'SECRET_CANARY_7f3a9c';
const ENV = { CANARY };

/** Broken fixture → the exact messages it must produce, in file order. */
const CASES: [string, string[]][] = [
  [
    'asof-right-unknown',
    [
      'asof-right-unknown.yaml:10:24: streams.joined.ops[0].join.right: unknown source or stream "quotes" (known: trades, joined)',
    ],
  ],
  [
    'bad-byte-size',
    ['bad-byte-size.yaml:11:16: sinks.archive.max_bytes: expected a byte size such as 4MiB or 512KB'],
  ],
  [
    'bad-duration',
    ['bad-duration.yaml:5:16: sources.trades.heartbeat: expected a duration such as 100ms, 5s or 1m'],
  ],
  [
    'bad-enum',
    ['bad-enum.yaml:5:11: sources.trades.mode: not an allowed value; expected one of: fast, safe'],
  ],
  ['bad-listen', ['bad-listen.yaml:6:17: http.listen: expected host:port such as 127.0.0.1:9464']],
  [
    'bad-name',
    [
      'bad-name.yaml:2:3: sources.my trades: invalid name; names use letters, digits, _ and -, starting with a letter',
    ],
  ],
  [
    'cycle',
    [
      'cycle.yaml:8:11: streams.a.from: streams form a cycle: a -> b -> a; a stream must read from sources or from streams that do not read it back',
    ],
  ],
  [
    'duplicate-key',
    ['duplicate-key.yaml:8:3: sinks.out: duplicate key; each key may appear only once in a map'],
  ],
  [
    'duration-number',
    [
      'duration-number.yaml:6:15: sources.trades.batch.period: expected a duration such as 100ms, 5s or 1m, got number',
    ],
  ],
  ['empty', ['empty.yaml:1:1: the file is empty; expected a map with sources:, streams: and sinks:']],
  [
    'env-default-used',
    ['env-default-used.yaml:5:20: sources.trades.max_in_flight: expected a positive integer, got string'],
  ],
  [
    'escaped-literal',
    ['escaped-literal.yaml:5:20: sources.trades.max_in_flight: expected a positive integer, got string'],
  ],
  [
    'invalid-reference',
    [
      'invalid-reference.yaml:5:15: sources.trades.password: invalid variable reference; expected ${NAME} or ${NAME:-default} (NAME: letters, digits, _)',
    ],
  ],
  [
    'missing-required',
    ['missing-required.yaml:3:5: sources.trades.url: required field is missing; expected a non-empty string'],
  ],
  [
    'missing-type',
    [
      'missing-type.yaml:3:5: sources.trades.type: required field is missing; expected a source type (known: feed)',
    ],
  ],
  [
    'name-clash',
    [
      'name-clash.yaml:7:3: streams.trades: name "trades" is also a source; sources and streams need distinct names',
    ],
  ],
  [
    'negative-integer',
    [
      'negative-integer.yaml:5:20: sources.trades.max_in_flight: expected a positive integer, got a negative number',
    ],
  ],
  [
    'op-bad-duration',
    [
      'op-bad-duration.yaml:10:26: streams.bars.ops[0].window.every: expected a duration such as 1s, 1m, 1d, 1w or 1mo, got number',
    ],
  ],
  [
    'op-two-keys',
    [
      'op-two-keys.yaml:10:9: streams.scaled.ops[0]: expected one operator per list item, written "- <operator>: {...}" (known: join, scale, window), got a map with 2 keys',
    ],
  ],
  [
    'secret-canary-env',
    [
      'secret-canary-env.yaml:5:20: sources.trades.max_in_flight: expected a positive integer, got string',
      'secret-canary-env.yaml:7:15: sources.trades.compress: expected true or false, got string',
    ],
  ],
  [
    'secret-canary',
    ['secret-canary.yaml:5:20: sources.trades.max_in_flight: expected a positive integer, got string'],
  ],
  [
    'sink-from-unknown',
    ['sink-from-unknown.yaml:9:20: sinks.out.from[1]: unknown source or stream "bars" (known: trades)'],
  ],
  [
    'stream-from-unknown',
    [
      'stream-from-unknown.yaml:8:11: streams.scaled.from: unknown source or stream "trade"; did you mean "trades"? (known: trades, scaled)',
    ],
  ],
  [
    'unknown-key-typo',
    [
      'unknown-key-typo.yaml:5:5: sources.trades.max_inflight: unknown field "max_inflight"; did you mean "max_in_flight"?',
    ],
  ],
  [
    'unknown-op',
    [
      'unknown-op.yaml:11:9: streams.scaled.ops[1].scal: unknown operator "scal"; did you mean "scale"? (known: join, scale, window)',
    ],
  ],
  [
    'unknown-source-type',
    [
      'unknown-source-type.yaml:3:11: sources.trades.type: unknown source type "fed"; did you mean "feed"? (known: feed)',
    ],
  ],
  [
    'unknown-top-level',
    [
      'unknown-top-level.yaml:6:1: server: unknown field "server"; known fields: sources, streams, sinks, dead_letter, http, shutdown',
    ],
  ],
  [
    'unset-env',
    [
      'unset-env.yaml:4:10: sources.trades.url: environment variable FEED_URL is not set; set it or give a default: ${FEED_URL:-default}',
      'unset-env.yaml:5:22: sources.trades.password: environment variable QDB_TOKEN is not set; set it or give a default: ${QDB_TOKEN:-default}',
    ],
  ],
  ['water-marks', ['water-marks.yaml:5:19: sources.trades.backpressure: low_water must be below high_water']],
  [
    'wrong-type',
    ['wrong-type.yaml:5:21: sources.trades.batch.count: expected a positive integer, got string'],
  ],
  [
    'yaml-syntax',
    ['yaml-syntax.yaml:4:10: YAML syntax error: Nested mappings are not allowed in compact mappings'],
  ],
  [
    'unquoted-ref-in-flow',
    [
      'unquoted-ref-in-flow.yaml:2:31: YAML syntax error: Unexpected flow-map-start at node end; a ${VAR} inside { } or [ ] must be quoted: "${VAR}"',
    ],
  ],
];

/** Cases whose YAML does not parse are kept here: the repository's linter parses .yaml files. */
const INLINE: Record<string, string> = {
  'yaml-syntax':
    'sources:\n  trades:\n    type: feed\n    url: ws://127.0.0.1:8765/ws\n     schema: { ts: timestamp }\n',
  'unquoted-ref-in-flow': 'sources:\n  trades: { type: feed, url: ${FEED_URL}, schema: { ts: timestamp } }\n',
};

function check(name: string, env: Record<string, string> = ENV) {
  const file = `${name}.yaml`;
  const text = INLINE[name] ?? readFileSync(join(BROKEN, file), 'utf8');
  return validateConfigText(text, file, fakeRegistry(), env);
}

describe('broken configs', () => {
  it.each(CASES)('%s', (name, expected) => {
    const { config, issues } = check(name);
    expect(config).toBeUndefined();
    expect(issues.map(formatIssue)).toEqual(expected);
  });

  it('covers at least 20 fixtures, each listed once', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(20);
    expect(new Set(CASES.map(([n]) => n)).size).toBe(CASES.length);
  });

  it('never puts a secret value in a message', () => {
    for (const name of ['secret-canary', 'secret-canary-env']) {
      const { issues } = check(name);
      expect(issues.length).toBeGreaterThan(0);
      const text = JSON.stringify(issues);
      expect(text).not.toContain(CANARY);
      expect(text).not.toContain('7f3a9c');
    }
  });

  it('reports the unset variable, not its value, when the value is set elsewhere', () => {
    const { issues } = check('unset-env', { FEED_URL: `ws://user:${CANARY}@host/ws` });
    expect(issues.map(formatIssue)).toEqual([
      'unset-env.yaml:5:22: sources.trades.password: environment variable QDB_TOKEN is not set; set it or give a default: ${QDB_TOKEN:-default}',
    ]);
  });
});

describe('valid configs', () => {
  const full = readFileSync(join(GOOD, 'full.yaml'), 'utf8');

  it('parses, applies defaults, normalises from: and resolves paths', () => {
    const { config, issues } = validateConfigText(full, join(GOOD, 'full.yaml'), fakeRegistry(), {
      FEED_HOST: '10.0.0.7',
      BATCH_COUNT: '500',
      COMPRESS: 'true',
      DB_PASSWORD: '12345',
    });
    expect(issues).toEqual([]);
    expect(config).toBeDefined();
    const c = config!;
    expect(c.file).toBe(join(GOOD, 'full.yaml'));
    const trades = c.sources.trades;
    expect(trades.type).toBe('feed');
    expect(trades.url).toBe('ws://10.0.0.7:8765/ws');
    expect(trades.max_in_flight).toBe(4);
    expect(trades.password).toBe('12345');
    expect(trades.compress).toBe(true);
    expect(trades.heartbeat).toBe(2500);
    expect(trades.batch).toEqual({ count: 500, bytes: 1024 * 1024, period: 50 });
    expect(trades.backpressure).toEqual({ high_water: 200_000, low_water: 50_000 });
    expect(trades.decode.timestamp).toEqual({ field: 'ts', unit: 'ms' });
    expect(c.sources.quotes.url).toBe('ws://127.0.0.1:8765/${LITERAL}');
    expect(c.streams.bars.ops).toEqual([
      { name: 'scale', config: { column: 'price', factor: 2 } },
      { name: 'window', config: { every: '1m', by: ['symbol'] } },
      { name: 'join', config: { right: 'quotes', on: 'ts' } },
    ]);
    expect(c.streams.doubled).toEqual({
      from: 'bars',
      ops: [{ name: 'scale', config: { column: 'close', factor: 1 } }],
    });
    expect(c.sinks.live).toEqual({ type: 'memory', from: ['bars'] });
    expect(c.sinks.archive).toEqual({
      type: 'file',
      from: ['trades', 'doubled'],
      path: 'out/a.arrow',
      max_bytes: 8 * 1024 ** 2,
    });
    expect(c.dead_letter.path).toBe(join(GOOD, 'dlq/letters.jsonl'));
    expect(c.http).toEqual({ listen: '127.0.0.1:9464' });
    expect(c.shutdown_timeout).toBe(5000);
  });

  it('fills every default of a minimal file', () => {
    const text = 'sources:\n  t: { type: feed, url: ws://h/x, schema: { ts: timestamp } }\n';
    const { config, issues } = validateConfigText(text, 'min.yaml', fakeRegistry(), {});
    expect(issues).toEqual([]);
    expect(config!.streams).toEqual({});
    expect(config!.sinks).toEqual({});
    expect(config!.http).toBeUndefined();
    expect(config!.shutdown_timeout).toBe(20_000);
    expect(config!.dead_letter.path).toBe(resolve('out/dead-letters.jsonl'));
  });

  it('keeps an interpolated number a string where the schema wants a string', () => {
    const text =
      'sources:\n  t: { type: feed, url: x, password: "${PIN}", max_in_flight: "${PIN}", schema: { ts: timestamp } }\n';
    const { config, issues } = validateConfigText(text, 'p.yaml', fakeRegistry(), { PIN: '0042' });
    expect(issues).toEqual([]);
    expect(config!.sources.t.password).toBe('0042');
    expect(config!.sources.t.max_in_flight).toBe(42);
  });

  it('converts interpolated numbers in operator and sink fields', () => {
    const text = [
      'sources:',
      '  t: { type: feed, url: x, schema: { ts: timestamp } }',
      'streams:',
      '  s:',
      '    from: t',
      '    ops:',
      '      - scale: { column: p, factor: "${F}" }',
      'sinks:',
      '  o: { type: file, from: s, path: p, max_bytes: "${MB}" }',
      '',
    ].join('\n');
    const { config, issues } = validateConfigText(text, 'p.yaml', fakeRegistry(), { F: '2.5', MB: '1024' });
    expect(issues).toEqual([]);
    expect(config!.streams.s.ops[0]).toEqual({ name: 'scale', config: { column: 'p', factor: 2.5 } });
    expect(config!.sinks.o.max_bytes).toBe(1024);
  });

  it('reads an operator written without config as all defaults, pointing at it when a field is required', () => {
    const text =
      'sources:\n  t: { type: feed, url: x, schema: { ts: timestamp } }\nstreams:\n  s:\n    from: t\n    ops:\n      - scale:\n';
    const { issues } = validateConfigText(text, 'p.yaml', fakeRegistry(), {});
    expect(issues.map(formatIssue)).toEqual([
      'p.yaml:7:9: streams.s.ops[0].scale.column: required field is missing; expected a non-empty string',
    ]);
  });

  it('does not coerce a number-like string written in the file', () => {
    const text = 'sources:\n  t: { type: feed, url: x, max_in_flight: "5", schema: { ts: timestamp } }\n';
    const { issues } = validateConfigText(text, 'p.yaml', fakeRegistry(), {});
    expect(issues.map(formatIssue)).toEqual([
      'p.yaml:2:43: sources.t.max_in_flight: expected a positive integer, got string',
    ]);
  });

  it('does not coerce text around a reference', () => {
    const text = 'sources:\n  t: { type: feed, url: x, max_in_flight: "${N}0", schema: { ts: timestamp } }\n';
    const { issues } = validateConfigText(text, 'p.yaml', fakeRegistry(), { N: '1' });
    expect(issues.map(formatIssue)).toEqual([
      'p.yaml:2:43: sources.t.max_in_flight: expected a positive integer, got string',
    ]);
  });

  it('follows YAML anchors and aliases', () => {
    const text = [
      'sources:',
      '  a: &feed { type: feed, url: ws://h/a, schema: { ts: timestamp } }',
      '  b: *feed',
      'sinks:',
      '  out: { type: memory, from: [a, b] }',
      '',
    ].join('\n');
    const { config, issues } = validateConfigText(text, 'p.yaml', fakeRegistry(), {});
    expect(issues).toEqual([]);
    expect(config!.sources.b.url).toBe('ws://h/a');
  });

  it('reports every problem at once, in file order', () => {
    const text = [
      'sources:',
      '  t:',
      '    type: feed',
      '    url: 5',
      '    mode: slow',
      '    batch: { count: 0 }',
      'shutdown: { timeout: 1mo }',
      '',
    ].join('\n');
    const { issues } = validateConfigText(text, 'p.yaml', fakeRegistry(), {});
    expect(issues.map(formatIssue)).toEqual([
      'p.yaml:3:5: sources.t.schema: required field is missing; expected a map of column name to type (timestamp, symbol, f64, i64, bool, utf8)',
      'p.yaml:4:10: sources.t.url: expected a non-empty string, got number',
      'p.yaml:5:11: sources.t.mode: not an allowed value; expected one of: fast, safe',
      'p.yaml:6:21: sources.t.batch.count: expected a positive integer, got zero',
      'p.yaml:7:22: shutdown.timeout: expected a duration such as 100ms, 5s or 1m',
    ]);
  });
});

describe('loadConfig', () => {
  it('reads a file and returns the config', () => {
    const config = loadConfig(join(GOOD, 'full.yaml'), fakeRegistry(), {
      FEED_HOST: 'h',
      BATCH_COUNT: '1',
      COMPRESS: 'false',
      DB_PASSWORD: 'x',
    });
    expect(Object.keys(config.sources)).toEqual(['trades', 'quotes']);
  });

  it('throws ConfigError with code, retriable flag and positioned issues', () => {
    const dir = mkdtempSync(join(tmpdir(), 'polaroid-config-'));
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(
      file,
      'sources:\n  t: { type: feed, url: x, schema: { ts: timestamp }, max_inflight: 3 }\n',
    );
    let caught: unknown;
    try {
      loadConfig(file, fakeRegistry(), {});
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const e = caught as ConfigError;
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.retriable).toBe(false);
    expect(e.issues).toEqual([
      {
        file,
        line: 2,
        col: 55,
        path: 'sources.t.max_inflight',
        message: 'unknown field "max_inflight"; did you mean "max_in_flight"?',
      },
    ]);
    expect(e.message).toBe(
      `${file}:2:55: sources.t.max_inflight: unknown field "max_inflight"; did you mean "max_in_flight"?`,
    );
  });

  it('reports a missing file as a config error', () => {
    expect(() => loadConfig('/nonexistent/pipeline.yaml', fakeRegistry(), {})).toThrow(
      '/nonexistent/pipeline.yaml:1:1: cannot read the config file (ENOENT); check the path',
    );
  });
});
