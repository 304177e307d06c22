// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the ${VAR} syntax is what these tests check
import { describe, expect, it } from 'vitest';
import { LineCounter, parseDocument } from 'yaml';
import { interpolateDocument, interpolateString, pathKey } from './interpolate.ts';

describe('interpolateString', () => {
  const env = { HOST: 'db.local', PORT: '5432', EMPTY: '' };

  it.each([
    ['plain text', 'plain text'],
    ['${HOST}', 'db.local'],
    ['tcp://${HOST}:${PORT}/x', 'tcp://db.local:5432/x'],
    ['${MISSING:-fallback}', 'fallback'],
    ['${MISSING:fallback}', 'fallback'],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${EMPTY}', ''],
    ['${HOST:-other}', 'db.local'],
    ['${MISSING:-}', ''],
    ['${MISSING:-a:b-c}', 'a:b-c'],
    ['$${HOST}', '${HOST}'],
    ['cost $5 and $${X:-y}', 'cost $5 and ${X:-y}'],
    ['$$${HOST}', '$${HOST}'],
  ])('%s → %s', (text, expected) => {
    const r = interpolateString(text, env);
    expect(r.problems).toEqual([]);
    expect(r.value).toBe(expected);
  });

  it('reports an unset variable by name, at the reference', () => {
    const r = interpolateString('x-${TOKEN}', env);
    expect(r.problems).toEqual([
      {
        index: 2,
        message: 'environment variable TOKEN is not set; set it or give a default: ${TOKEN:-default}',
      },
    ]);
  });

  it('reports malformed references', () => {
    expect(interpolateString('${1A}', env).problems[0].message).toMatch(/^invalid variable reference/);
    expect(interpolateString('${HOST', env).problems[0].message).toMatch(/^unterminated "\$\{"/);
  });

  it('says when the text is exactly one reference', () => {
    expect(interpolateString('${PORT}', env).whole).toBe(true);
    expect(interpolateString('${PORT:-1}', env).whole).toBe(true);
    expect(interpolateString(' ${PORT}', env).whole).toBe(false);
    expect(interpolateString('${HOST}${PORT}', env).whole).toBe(false);
    expect(interpolateString('$${PORT}', env).whole).toBe(false);
  });
});

describe('interpolateDocument', () => {
  it('replaces values, not keys, and records typed candidates by path', () => {
    const text = 'a:\n  ${K}: 1\n  n: ${N}\n  list: [x, "${B}", "${N} items"]\n';
    const doc = parseDocument(text, { lineCounter: new LineCounter() });
    const r = interpolateDocument(doc, text, { K: 'key', N: '12', B: 'true' });
    expect(r.problems).toEqual([]);
    expect(doc.toJS()).toEqual({ a: { '${K}': 1, n: '12', list: ['x', 'true', '12 items'] } });
    expect([...r.typed]).toEqual([
      [pathKey(['a', 'n']), 12],
      [pathKey(['a', 'list', 1]), true],
    ]);
  });

  it('locates problems at the reference inside the scalar', () => {
    const text = 'a:\n  url: "wss://${HOST}/x"\n  b: |\n    line ${NOPE}\n';
    const doc = parseDocument(text);
    const r = interpolateDocument(doc, text, {});
    expect(r.problems.map((p) => [p.offset, p.path])).toEqual([
      [text.indexOf('${HOST}'), ['a', 'url']],
      [text.indexOf('${NOPE}'), ['a', 'b']],
    ]);
  });
});
