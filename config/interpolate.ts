/**
 * Environment interpolation in YAML scalars, applied to the parsed document (not to the text) so
 * every problem keeps its line and column.
 *
 * - `${NAME}`: the variable's value; unset is an error naming the variable (never a value).
 * - `${NAME:-default}` (also `${NAME:default}`): the default when the variable is unset or empty.
 * - `$${...}`: the literal text `${...}`.
 *
 * Only values are interpolated, never keys. The result is always a string; a scalar that is
 * exactly one reference and whose value reads as a number or boolean is recorded in `typed`, and
 * the loader converts it only where the schema wants a number or boolean (see `load.ts`).
 */
import { type Document, isPair, isScalar, isSeq, type Scalar, visit } from 'yaml';

export type Env = Readonly<Record<string, string | undefined>>;

export interface InterpolationProblem {
  /** Offset in the source text of the reference (or of the scalar when it cannot be located). */
  offset: number;
  path: (string | number)[];
  message: string;
}

export interface InterpolationResult {
  problems: InterpolationProblem[];
  /** Dotted path → number or boolean, for scalars that are exactly one reference. */
  typed: Map<string, number | boolean>;
}

interface StringResult {
  value: string;
  /** True when the text is exactly one `${...}` reference. */
  whole: boolean;
  problems: { index: number; message: string }[];
}

const REF_RE = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:)([\s\S]*))?$/;
const NUMBER_RE = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Interpolate one string. */
export function interpolateString(text: string, env: Env): StringResult {
  let value = '';
  let refs = 0;
  const problems: StringResult['problems'] = [];
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      value += '${';
      i += 3;
      continue;
    }
    if (!text.startsWith('${', i)) {
      value += text[i];
      i++;
      continue;
    }
    const close = text.indexOf('}', i + 2);
    if (close < 0) {
      problems.push({
        index: i,
        message: `unterminated "\${"; close the reference with "}" or write "$\${"`,
      });
      value += text.slice(i);
      break;
    }
    refs++;
    const m = REF_RE.exec(text.slice(i + 2, close));
    if (!m) {
      problems.push({
        index: i,
        message: `invalid variable reference; expected \${NAME} or \${NAME:-default} (NAME: letters, digits, _)`,
      });
    } else {
      const [, name, sep, fallback] = m;
      const set = env[name];
      if (sep !== undefined) value += set === undefined || set === '' ? fallback : set;
      else if (set !== undefined) value += set;
      else
        problems.push({
          index: i,
          message: `environment variable ${name} is not set; set it or give a default: \${${name}:-default}`,
        });
    }
    i = close + 1;
  }
  const whole = refs === 1 && /^\$\{[^}]*\}$/.test(text);
  return { value, whole, problems };
}

/** Interpolate every string value of the document in place. */
export function interpolateDocument(doc: Document, source: string, env: Env): InterpolationResult {
  const result: InterpolationResult = { problems: [], typed: new Map() };
  visit(doc, {
    Scalar(key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const path = pathOf(ancestors, node);
      const r = interpolateString(node.value, env);
      for (const p of r.problems) {
        result.problems.push({ offset: locate(node, source, p.index), path, message: p.message });
      }
      node.value = r.value;
      if (r.problems.length === 0 && r.whole) {
        const typed = typedValue(r.value);
        if (typed !== undefined) result.typed.set(pathKey(path), typed);
      }
    },
  });
  return result;
}

/** A stable key for a path, shared by the loader to look up `typed`. */
export function pathKey(path: readonly PropertyKey[]): string {
  return JSON.stringify(path.map((p) => (typeof p === 'number' ? p : String(p))));
}

function typedValue(text: string): number | boolean | undefined {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (NUMBER_RE.test(text)) return Number(text);
  return undefined;
}

function pathOf(ancestors: readonly unknown[], node: unknown): (string | number)[] {
  const path: (string | number)[] = [];
  const chain = [...ancestors, node];
  for (let i = 0; i < chain.length; i++) {
    const a = chain[i];
    if (isPair(a)) {
      const k = a.key;
      path.push(isScalar(k) ? String(k.value) : String(k));
    } else if (isSeq(a)) {
      const child = chain[i + 1];
      path.push(a.items.indexOf(child as never));
    }
  }
  return path;
}

/** Source offset of `${` at `index` of the scalar's value, when the source shows it verbatim. */
function locate(node: Scalar, source: string, index: number): number {
  const start = node.range?.[0] ?? 0;
  const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE' ? 1 : 0;
  const guess = start + quoted + index;
  if (source.startsWith('${', guess)) return guess;
  const end = node.range?.[1] ?? source.length;
  const found = source.slice(start, end).indexOf('${');
  return found >= 0 ? start + found : start;
}
