import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Batch } from '../pipeline/types.ts';
import { fakeRegistry } from '../tests/config/fakes.ts';
import { defaultRegistry } from './default-registry.ts';
import { fieldDocs, renderComponentsDoc } from './docs.ts';
import { generateArtifacts, ROOT } from './generate.ts';
import { buildJsonSchema } from './jsonschema.ts';
import { Registry } from './registry.ts';

describe('generated files', () => {
  it.each(generateArtifacts(defaultRegistry()).map((a) => [a.path, a.content]))(
    '%s is up to date',
    (path, content) => {
      let committed = '';
      try {
        committed = readFileSync(join(ROOT, path), 'utf8');
      } catch {
        committed = '';
      }
      expect(committed === content, `${path} is stale: run npm run gen and commit the result`).toBe(true);
    },
  );
});

describe('buildJsonSchema', () => {
  const schema = buildJsonSchema(fakeRegistry());

  it('is strict at the top and requires sources', () => {
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['sources']);
    expect(Object.keys(schema.properties)).toEqual([
      'sources',
      'streams',
      'sinks',
      'dead_letter',
      'http',
      'shutdown',
    ]);
  });

  it('dispatches sources and sinks on a type constant and keeps specs strict', () => {
    const [feed] = schema.properties.sources.additionalProperties.oneOf;
    expect(feed.properties.type).toEqual({ const: 'feed', description: 'Source type' });
    expect(feed.required).toEqual(['type', 'url', 'schema']);
    expect(feed.additionalProperties).toBe(false);
    expect(feed.properties.max_in_flight).toMatchObject({ type: 'integer', exclusiveMinimum: 0, default: 8 });
    const sinks = schema.properties.sinks.additionalProperties.oneOf;
    expect(sinks.map((s: any) => s.properties.type.const)).toEqual(['file', 'memory']);
    expect(sinks[0].required).toEqual(['type', 'from', 'path']);
    expect(sinks[0].properties.from.anyOf).toHaveLength(2);
  });

  it('describes each ops item as a one-key map per operator', () => {
    const items = schema.properties.streams.additionalProperties.properties.ops.items.oneOf;
    expect(items.map((i: any) => i.required)).toEqual([['join'], ['scale'], ['window']]);
    expect(items[1].additionalProperties).toBe(false);
    expect(items[1].properties.scale.properties.column).toMatchObject({ type: 'string', minLength: 1 });
  });
});

describe('JSON Schema definitions', () => {
  it('keeps each component’s recursive definitions apart', () => {
    type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
    const json: z.ZodType<Json> = z.lazy(() =>
      z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(json), z.record(z.string(), json)]),
    );
    const registry = new Registry();
    for (const name of ['a', 'b']) {
      registry.register({
        kind: 'op',
        name,
        summary: name,
        stability: 'beta',
        config: z.strictObject({ payload: json.optional() }),
        create: () => map((x: Batch) => x),
      });
    }
    const schema = buildJsonSchema(registry);
    const defs = Object.keys(schema.$defs);
    expect(defs).toEqual(['op.a.__schema0', 'op.b.__schema0']);
    const refs = JSON.stringify(schema).match(/"\$ref":"[^"]*"/g) ?? [];
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(defs).toContain(ref.slice('"$ref":"#/$defs/'.length, -1));
  });
});

describe('component docs', () => {
  it('lists fields with their type, default and description, nested fields dotted', () => {
    const rows = fieldDocs(fakeRegistry().source('feed')!.config);
    const byName = new Map(rows.map((r) => [r.name, r]));
    expect(byName.get('url')).toEqual({
      name: 'url',
      type: 'a non-empty string',
      required: true,
      description: 'Where to connect',
    });
    expect(byName.get('heartbeat')).toMatchObject({
      type: 'a duration such as 100ms, 5s or 1m',
      default: '10s',
    });
    expect(byName.get('batch.bytes')).toMatchObject({ default: '4MiB', required: false });
    expect(byName.get('batch.period')).toMatchObject({ default: '100ms' });
    expect(byName.get('mode')).toMatchObject({ type: 'one of: fast, safe', default: 'safe' });
  });

  it('renders every component with its examples', () => {
    const md = renderComponentsDoc(fakeRegistry());
    for (const name of ['feed', 'memory', 'file', 'scale', 'window', 'join'])
      expect(md).toContain(`### ${name}\n`);
    expect(md).toContain('Example: Double\n\n```yaml\ncolumn: price\nfactor: 2\n```');
    expect(md).toContain('| `max_in_flight` | a positive integer | `8` | Unacked messages at most |');
  });
});
