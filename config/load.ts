/**
 * Load a pipeline file: parse YAML (keeping positions), interpolate `${VAR}`, validate against the
 * registry's specs, check references between names, and return the typed `PipelineConfig`.
 *
 * Every problem becomes a `ConfigIssue` (`file:line:col: path: message`); all of them are
 * reported at once. Messages name types and field names, never configured values.
 *
 * Interpolated numbers and booleans: `count: ${BATCH_COUNT}` is a string after interpolation.
 * When a scalar is exactly one reference, its value reads as a number or boolean and the schema
 * rejects the string because it wants a number (or boolean) there, the typed value is used. No
 * other string is ever coerced, so `count: "5"` written in the file stays an error.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type Document, LineCounter, parseDocument, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { checkReferences } from './crossref.ts';
import { describeExpected, fieldNames, schemaAt } from './describe.ts';
import { type Env, interpolateDocument, pathKey } from './interpolate.ts';
import { ConfigError, type ConfigIssue, dottedPath, sortIssues, suggest, typeName } from './issues.ts';
import type { PipelineConfig } from './pipeline-config.ts';
import { buildPipelineSchema, locateSchema, type PipelineShape } from './pipeline-schema.ts';
import { lookup, positionOf, startOf } from './positions.ts';
import type { Registry } from './registry.ts';

type Path = (string | number)[];

/** Where the schema for a path is found: the schema, the path inside it, extra accepted fields. */
export type SchemaLocator = (path: Path) => { schema: z.ZodType; rest: Path; extraFields: string[] };

/** A parsed YAML document with what is needed to point at its nodes. */
export interface ParsedYaml {
  file: string;
  doc: Document;
  lineCounter: LineCounter;
  /** Plain data after interpolation (undefined when the YAML could not be read). */
  data: unknown;
  /** Interpolated scalars that read as numbers or booleans, by `pathKey`. */
  typed: Map<string, number | boolean>;
  issues: ConfigIssue[];
}

/** Parse and interpolate; YAML and interpolation problems are in `issues`. */
export function parseYaml(text: string, file: string, env: Env): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const parsed: ParsedYaml = { file, doc, lineCounter, data: undefined, typed: new Map(), issues: [] };
  if (doc.errors.length > 0) {
    parsed.issues = yamlIssues(parsed, doc.errors, text);
    return parsed;
  }
  const interp = interpolateDocument(doc, text, env);
  parsed.typed = interp.typed;
  for (const p of interp.problems) {
    parsed.issues.push({
      file,
      ...positionOf(lineCounter, p.offset),
      path: dottedPath(p.path),
      message: p.message,
    });
  }
  try {
    parsed.data = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    parsed.issues.push({
      file,
      line: 1,
      col: 1,
      path: '',
      message: `cannot read the YAML document (${(err as Error).message}); simplify its aliases`,
    });
  }
  return parsed;
}

const YAML_MESSAGES: Record<string, string> = {
  DUPLICATE_KEY: 'duplicate key; each key may appear only once in a map',
  BAD_DQ_ESCAPE:
    'YAML syntax error: invalid escape sequence in a double-quoted string; use single quotes or escape the backslash',
};

/** yaml messages that quote source text are cut before the quote (the text may be a secret). */
const QUOTING_MESSAGE = /^(Block scalar header includes extra characters|Invalid escape sequence)\b.*$/s;
const QUOTED_TOKEN = /:\s*".*"$/s;

/** A plain `${VAR}` inside `{ }` or `[ ]`: the braces end the scalar, so it must be quoted. */
const UNQUOTED_REF_IN_FLOW = /[{[][^"']*(?<![$"'])\$\{/;

function yamlIssue(parsed: ParsedYaml, e: YAMLError, text: string): ConfigIssue {
  const offset = e.pos[0];
  const clean = e.message
    .replace(/\s+/g, ' ')
    .trim()
    .replace(QUOTING_MESSAGE, '$1')
    .replace(QUOTED_TOKEN, '');
  let message = YAML_MESSAGES[e.code] ?? `YAML syntax error: ${clean}`;
  const pos = positionOf(parsed.lineCounter, offset);
  const line = text.split(/\r?\n/)[pos.line - 1] ?? '';
  if (e.code !== 'DUPLICATE_KEY' && UNQUOTED_REF_IN_FLOW.test(line)) {
    message += `; a \${VAR} inside { } or [ ] must be quoted: "\${VAR}"`;
  }
  return {
    file: parsed.file,
    ...pos,
    // Only a duplicate key has a trustworthy path; a syntax error may have broken the keys around it.
    path: e.code === 'DUPLICATE_KEY' ? dottedPath(pathAtOffset(parsed.doc, offset)) : '',
    message,
  };
}

/** Duplicate keys, and the first syntax error (later ones are mostly echoes of it). */
function yamlIssues(parsed: ParsedYaml, errors: readonly YAMLError[], text: string): ConfigIssue[] {
  const duplicates = errors.filter((e) => e.code === 'DUPLICATE_KEY');
  const syntax = errors.find((e) => e.code !== 'DUPLICATE_KEY');
  return [...duplicates, ...(syntax ? [syntax] : [])].map((e) => yamlIssue(parsed, e, text));
}

/** Path of the deepest map entry or list item that contains `offset`. */
function pathAtOffset(doc: Document, offset: number): Path {
  const path: Path = [];
  let node: any = doc.contents;
  for (;;) {
    const items: any[] | undefined = node?.items;
    if (!items) return path;
    let next: any;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (item?.key !== undefined) {
        const from = item.key?.range?.[0] ?? Number.POSITIVE_INFINITY;
        const to = item.value?.range?.[1] ?? item.key?.range?.[1] ?? from;
        if (offset >= from && offset <= to) {
          path.push(String(item.key?.value ?? item.key));
          next = item.value;
        }
      } else if (item?.range && offset >= item.range[0] && offset <= item.range[1]) {
        path.push(i);
        next = item;
      }
    }
    if (next === undefined) return path;
    node = next;
  }
}

function valueAt(data: unknown, path: readonly PropertyKey[]): { present: boolean; value: unknown } {
  let cur: any = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || !(seg in cur)) return { present: false, value: undefined };
    cur = cur[seg as any];
  }
  return { present: cur !== undefined, value: cur };
}

function setAt(data: unknown, path: readonly PropertyKey[], value: unknown): void {
  let cur: any = data;
  for (const seg of path.slice(0, -1)) cur = cur[seg as any];
  cur[path[path.length - 1] as any] = value;
}

const ZOD_EXPECTED: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  object: 'a map',
  record: 'a map',
  array: 'a list',
};

function isDefaultZodMessage(message: string): boolean {
  return /^(Invalid|Too (small|big)|Unrecognized)/.test(message);
}

/** One zod issue as config issues (an `unrecognized_keys` issue gives one per key). */
export function toConfigIssues(
  parsed: ParsedYaml,
  issue: z.core.$ZodIssue,
  locate: SchemaLocator,
): ConfigIssue[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const at = (p: Path, key: boolean) => {
    const found = lookup(parsed.doc, p);
    const node = key && found.found ? found.keyNode : found.node;
    return positionOf(parsed.lineCounter, startOf(node));
  };
  const make = (p: Path, message: string, key = false): ConfigIssue => ({
    file: parsed.file,
    ...at(p, key),
    path: dottedPath(p),
    message,
  });

  if (issue.code === 'unrecognized_keys') {
    const loc = locate(path);
    const known = [...fieldNames(schemaAt(loc.schema, loc.rest)), ...loc.extraFields];
    return issue.keys.map((key) => {
      const hint = suggest(key, known);
      const help = hint
        ? `did you mean "${hint}"?`
        : known.length > 0
          ? `known fields: ${known.join(', ')}`
          : 'remove it';
      return make([...path, key], `unknown field "${key}"; ${help}`, true);
    });
  }
  if (issue.code === 'invalid_key') {
    const custom = issue.issues.find((i) => !isDefaultZodMessage(i.message));
    return [make(path, `invalid name; ${custom?.message ?? 'expected a string'}`, true)];
  }

  const { present, value } = valueAt(parsed.data, path);
  const loc = locate(path);
  const schema = schemaAt(loc.schema, loc.rest);
  const expected = () =>
    schema
      ? describeExpected(schema)
      : (ZOD_EXPECTED[(issue as { expected?: string }).expected ?? ''] ?? 'a valid value');
  const missing = () => `required field is missing; expected ${expected()}`;
  const atKey = issue.code === 'custom' && (issue.params as { at?: string } | undefined)?.at === 'key';

  let message: string;
  switch (issue.code) {
    case 'invalid_type':
    case 'invalid_union':
      message = present ? `expected ${expected()}, got ${typeName(value)}` : missing();
      break;
    case 'invalid_value': {
      const values = issue.values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
      const want =
        values.length === 1
          ? `expected ${JSON.stringify(issue.values[0])}`
          : `expected one of: ${values.join(', ')}`;
      const sameType = issue.values.some((v) => typeof v === typeof value);
      message = !present
        ? `required field is missing; ${want}`
        : sameType
          ? `not an allowed value; ${want}`
          : `${want}, got ${typeName(value)}`;
      break;
    }
    case 'too_small':
      message = `expected ${expected()}, got ${tooSmall(issue, value)}`;
      break;
    case 'too_big':
      message = `expected ${expected()}, got ${tooBig(issue)}`;
      break;
    case 'not_multiple_of':
      message = `expected a multiple of ${String(issue.divisor)}`;
      break;
    case 'invalid_format':
      message = isDefaultZodMessage(issue.message)
        ? `expected ${expected()} (${issue.format} format)`
        : issue.message;
      break;
    default:
      message = isDefaultZodMessage(issue.message) ? `invalid value; expected ${expected()}` : issue.message;
  }
  return [make(path, message, atKey)];
}

function tooSmall(issue: z.core.$ZodIssueTooSmall, value: unknown): string {
  if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') {
    if (Number(issue.minimum) === 0 && typeof value === 'number')
      return value < 0 ? 'a negative number' : 'zero';
    return 'a number below the minimum';
  }
  if (issue.origin === 'string') return value === '' ? 'an empty string' : 'a string that is too short';
  if (issue.origin === 'array')
    return Array.isArray(value) && value.length === 0 ? 'an empty list' : 'a list that is too short';
  return 'a value that is too small';
}

function tooBig(issue: z.core.$ZodIssueTooBig): string {
  if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint')
    return 'a number above the maximum';
  if (issue.origin === 'string') return 'a string that is too long';
  if (issue.origin === 'array') return 'a list that is too long';
  return 'a value that is too big';
}

/**
 * Parse with `schema`, using the typed value of an interpolated scalar where the schema wants a
 * number or boolean (see the file comment).
 */
export function parseWithTyped<T>(
  schema: z.ZodType<T>,
  parsed: ParsedYaml,
): ReturnType<z.ZodType<T>['safeParse']> {
  let result = schema.safeParse(parsed.data);
  for (let round = 0; round < 3 && !result.success && parsed.typed.size > 0; round++) {
    let changed = false;
    for (const issue of result.error.issues) {
      if (!wantsTyped(issue)) continue;
      const typed = parsed.typed.get(pathKey(issue.path));
      const kind = issue.code === 'invalid_type' ? issue.expected : 'number';
      if (typed === undefined) continue;
      if ((kind === 'boolean') !== (typeof typed === 'boolean') && issue.code === 'invalid_type') continue;
      setAt(parsed.data, issue.path, typed);
      changed = true;
    }
    if (!changed) break;
    result = schema.safeParse(parsed.data);
  }
  return result;
}

function wantsTyped(issue: z.core.$ZodIssue): boolean {
  const typedKinds = ['number', 'int', 'boolean'];
  if (issue.code === 'invalid_type') return typedKinds.includes(issue.expected);
  if (issue.code === 'invalid_union') {
    return issue.errors.some((errs) =>
      errs.some((e) => e.code === 'invalid_type' && e.path.length === 0 && typedKinds.includes(e.expected)),
    );
  }
  return false;
}

/** Validate a pipeline file's text. `config` is set only when there are no issues. */
export function validateConfigText(
  text: string,
  file: string,
  registry: Registry,
  env: Env = process.env,
): { config?: PipelineConfig; issues: ConfigIssue[] } {
  const parsed = parseYaml(text, file, env);
  if (parsed.data === undefined && parsed.issues.length > 0) return { issues: sortIssues(parsed.issues) };
  if (parsed.data === null || parsed.data === undefined) {
    return {
      issues: [
        ...parsed.issues,
        {
          file,
          line: 1,
          col: 1,
          path: '',
          message: 'the file is empty; expected a map with sources:, streams: and sinks:',
        },
      ],
    };
  }

  const locate: SchemaLocator = (path) => locateSchema(registry, parsed.data, path);
  const interpolationPaths = new Set(parsed.issues.map((i) => i.path));
  const result = parseWithTyped(buildPipelineSchema(registry), parsed);
  const issues = [...parsed.issues];
  if (!result.success) {
    for (const zi of result.error.issues) {
      for (const ci of toConfigIssues(parsed, zi, locate))
        if (!interpolationPaths.has(ci.path)) issues.push(ci);
    }
    return { issues: sortIssues(issues) };
  }
  if (issues.length > 0) return { issues: sortIssues(issues) };

  const shape: PipelineShape = result.data;
  for (const p of checkReferences(shape, parsed.data)) {
    const found = lookup(parsed.doc, p.path);
    const node = p.atKey ? found.keyNode : found.node;
    issues.push({
      file,
      ...positionOf(parsed.lineCounter, startOf(node)),
      path: dottedPath(p.path),
      message: p.message,
    });
  }
  if (issues.length > 0) return { issues: sortIssues(issues) };

  const abs = resolve(file);
  const config: PipelineConfig = {
    ...shape,
    file: abs,
    dead_letter: { path: resolve(dirname(abs), shape.dead_letter.path) },
  };
  return { config, issues: [] };
}

/** Read, validate and return the pipeline config; throws `ConfigError` listing every issue. */
export function loadConfig(file: string, registry: Registry, env: Env = process.env): PipelineConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read error';
    throw new ConfigError([
      { file, line: 1, col: 1, path: '', message: `cannot read the config file (${code}); check the path` },
    ]);
  }
  const { config, issues } = validateConfigText(text, file, registry, env);
  if (!config) throw new ConfigError(issues);
  return config;
}
