/**
 * What a zod schema expects, in words for error messages ("a positive integer", "a duration such
 * as 100ms, 5s or 1m"), and navigation of a schema along a config path.
 */
import { z } from 'zod';
import { zBytes, zCalendarDuration, zDurationMs, zSchemaDecl } from './common.ts';

type AnySchema = z.ZodType;

const KNOWN = new Map<unknown, string>([
  [zDurationMs._zod.def, 'a duration such as 100ms, 5s or 1m'],
  [zCalendarDuration._zod.def, 'a duration such as 1s, 1m, 1d, 1w or 1mo'],
  [zBytes._zod.def, 'a byte size such as 4MiB, 512KB or 1048576'],
  [zSchemaDecl._zod.def, 'a map of column name to type (timestamp, symbol, f64, i64, bool, utf8)'],
]);

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional']);

function def(s: AnySchema): any {
  return s._zod.def;
}

/** Strip defaults, optionals and similar wrappers (not pipes: a known pipe has its own words). */
export function unwrap(s: AnySchema): AnySchema {
  for (;;) {
    const d = def(s);
    if (WRAPPERS.has(d.type)) s = d.innerType;
    else if (d.type === 'lazy') s = d.getter();
    else return s;
  }
}

/** The schema that validates the value at `path` inside `s`, if the path can be followed. */
export function schemaAt(s: AnySchema, path: readonly PropertyKey[]): AnySchema | undefined {
  let cur: AnySchema | undefined = s;
  for (const seg of path) {
    if (!cur) return undefined;
    cur = child(cur, seg);
  }
  return cur;
}

function child(s: AnySchema, seg: PropertyKey): AnySchema | undefined {
  s = unwrap(s);
  const d = def(s);
  switch (d.type) {
    case 'pipe':
      return child(d.in, seg);
    case 'object':
      return typeof seg === 'string' ? d.shape[seg] : undefined;
    case 'record':
      return d.valueType;
    case 'array':
      return typeof seg === 'number' ? d.element : undefined;
    case 'tuple':
      return typeof seg === 'number' ? d.items[seg] : undefined;
    case 'intersection':
      return child(d.left, seg) ?? child(d.right, seg);
    case 'union': {
      const found = (d.options as AnySchema[]).map((o) => child(o, seg)).filter((o) => o !== undefined);
      return found.length === 1 ? found[0] : undefined;
    }
    default:
      return undefined;
  }
}

/** Field names of an object schema (after unwrapping), for "unknown field" hints. */
export function fieldNames(s: AnySchema | undefined): string[] {
  if (!s) return [];
  s = unwrap(s);
  const d = def(s);
  if (d.type === 'pipe') return fieldNames(d.in);
  if (d.type === 'object') return Object.keys(d.shape);
  if (d.type === 'intersection') return [...fieldNames(d.left), ...fieldNames(d.right)];
  return [];
}

/** What the schema accepts, as a noun phrase: "a positive integer", "one of: a, b". */
export function describeExpected(s: AnySchema | undefined, depth = 0): string {
  if (!s || depth > 8) return 'a valid value';
  s = unwrap(s);
  const known = KNOWN.get(def(s));
  if (known) return known;
  const d = def(s);
  switch (d.type) {
    case 'pipe':
      return describeExpected(d.in, depth + 1);
    case 'string':
      return stringPhrase(s);
    case 'number':
      return numberPhrase(s);
    case 'boolean':
      return 'true or false';
    case 'object':
    case 'record':
      return 'a map';
    case 'array':
      return listPhrase(d.element, depth);
    case 'tuple':
      return 'a list';
    case 'enum':
      return `one of: ${Object.values(d.entries as Record<string, unknown>).join(', ')}`;
    case 'literal':
      return (d.values as unknown[]).length === 1
        ? JSON.stringify((d.values as unknown[])[0])
        : `one of: ${(d.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'union': {
      const phrases = [...new Set((d.options as AnySchema[]).map((o) => describeExpected(o, depth + 1)))];
      const kinds = ['a map', 'a string'].filter((k) => phrases.includes(k)).length;
      if (kinds === 2 && phrases.some((p) => p.startsWith('a list'))) return 'any value';
      return phrases.join(' or ');
    }
    case 'any':
    case 'unknown':
      return 'any value';
    case 'null':
      return 'null';
    default:
      return 'a valid value';
  }
}

const PLURALS: Record<string, string> = {
  'a string': 'strings',
  'a non-empty string': 'non-empty strings',
  'a number': 'numbers',
  'an integer': 'integers',
  'a map': 'maps',
  'true or false': 'booleans',
};

function listPhrase(element: AnySchema, depth: number): string {
  const plural = PLURALS[describeExpected(element, depth + 1)];
  return plural ? `a list of ${plural}` : 'a list';
}

function jsonOf(s: AnySchema): Record<string, any> {
  try {
    return z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<string, any>;
  } catch {
    return {};
  }
}

function stringPhrase(s: AnySchema): string {
  const j = jsonOf(s);
  if (typeof j.minLength === 'number' && j.minLength > 0) return 'a non-empty string';
  return 'a string';
}

function numberPhrase(s: AnySchema): string {
  const j = jsonOf(s);
  const integer = j.type === 'integer';
  const noun = integer ? 'integer' : 'number';
  const max = typeof j.maximum === 'number' && j.maximum < Number.MAX_SAFE_INTEGER ? j.maximum : undefined;
  const exMax = typeof j.exclusiveMaximum === 'number' ? j.exclusiveMaximum : undefined;
  const min = typeof j.minimum === 'number' && j.minimum > Number.MIN_SAFE_INTEGER ? j.minimum : undefined;
  const exMin = typeof j.exclusiveMinimum === 'number' ? j.exclusiveMinimum : undefined;
  let phrase: string;
  if (exMin === 0) phrase = `a positive ${noun}`;
  else if (min === 0) phrase = `a non-negative ${noun}`;
  else if (min !== undefined) phrase = `${integer ? 'an' : 'a'} ${noun} >= ${min}`;
  else if (exMin !== undefined) phrase = `${integer ? 'an' : 'a'} ${noun} > ${exMin}`;
  else phrase = integer ? 'an integer' : 'a number';
  if (max !== undefined) phrase += ` <= ${max}`;
  else if (exMax !== undefined) phrase += ` < ${exMax}`;
  return phrase;
}
