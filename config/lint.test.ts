import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeRegistry } from '../tests/config/fakes.ts';
import { defaultRegistry } from './default-registry.ts';
import { formatIssue } from './issues.ts';
import { formatIssues, lintExample, lintExitCode, lintFiles, lintSpecExamples } from './lint.ts';

const ROOT = resolve(import.meta.dirname, '..');
const FIXTURES = join(ROOT, 'tests/config');
const GOOD_ENV = { FEED_HOST: 'h', BATCH_COUNT: '10', COMPRESS: 'true', DB_PASSWORD: 'p' };

describe('lintFiles', () => {
  it('passes a clean set with exit code 0', () => {
    const results = lintFiles([join(FIXTURES, 'good')], fakeRegistry(), GOOD_ENV);
    expect(results.map((r) => r.file)).toEqual([join(FIXTURES, 'good/full.yaml')]);
    expect(lintExitCode(results)).toBe(0);
    expect(formatIssues(results)).toBe('1 file checked, no problems');
  });

  it('fails with exit code 1 and positioned messages when any file has a problem', () => {
    const bad = join(FIXTURES, 'broken/unknown-key-typo.yaml');
    const results = lintFiles([join(FIXTURES, 'good/full.yaml'), bad], fakeRegistry(), GOOD_ENV);
    expect(lintExitCode(results)).toBe(1);
    expect(formatIssues(results)).toBe(
      `${bad}:5:5: sources.trades.max_inflight: unknown field "max_inflight"; did you mean "max_in_flight"?\n` +
        '1 problem in 1 of 2 files',
    );
  });

  it('walks directories for .yaml and .yml files', () => {
    const results = lintFiles([join(FIXTURES, 'broken')], fakeRegistry(), {});
    expect(results.length).toBe(
      readdirSync(join(FIXTURES, 'broken')).filter((f) => f.endsWith('.yaml')).length,
    );
    expect(results.every((r) => r.issues.length > 0)).toBe(true);
  });

  it('reports an unreadable path as a problem', () => {
    const results = lintFiles(['/nonexistent/x.yaml'], fakeRegistry(), {});
    expect(lintExitCode(results)).toBe(1);
    expect(results[0].issues[0].message).toBe('cannot read the config file (ENOENT); check the path');
  });
});

describe('component examples', () => {
  it('accepts the fake specs’ examples', () => {
    const results = lintSpecExamples(fakeRegistry());
    expect(results.map((r) => r.file)).toEqual([
      'source feed, example "Minimal"',
      'source feed, example "From the environment"',
      'sink memory, example "Default"',
      'op scale, example "Double"',
    ]);
    expect(results.flatMap((r) => r.issues)).toEqual([]);
  });

  it('accepts type:, from: and the op wrapper, and positions problems in the example', () => {
    const r = fakeRegistry();
    expect(lintExample(r.sink('file')!, { title: 't', yaml: 'type: file\nfrom: [x]\npath: a\n' })).toEqual(
      [],
    );
    expect(lintExample(r.op('scale')!, { title: 't', yaml: 'scale: { column: p }\n' })).toEqual([]);
    const issues = lintExample(r.op('window')!, { title: 'bad', yaml: 'window:\n  every: 5\n' });
    expect(issues).toEqual([
      {
        file: 'op window, example "bad"',
        line: 2,
        col: 10,
        path: 'window.every',
        message: 'expected a duration such as 1s, 1m, 1d, 1w or 1mo, got number',
      },
    ]);
  });

  it('every shipped example file and spec example lints clean with the default registry', () => {
    const registry = defaultRegistry();
    const dir = join(ROOT, 'examples');
    const files = existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => /\.ya?ml$/.test(f))
          .map((f) => join(dir, f))
      : [];
    const results = [...lintFiles(files, registry, {}), ...lintSpecExamples(registry)];
    expect(results.flatMap((r) => r.issues).map(formatIssue)).toEqual([]);
  });
});
