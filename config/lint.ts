/**
 * `polaroid lint`: validate pipeline files (and directories of them) without starting anything,
 * and check the example configs shipped with each component spec. Exit code: 1 on any issue.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Env } from './interpolate.ts';
import { type ConfigIssue, formatIssues as formatIssueList, sortIssues } from './issues.ts';
import { parseWithTyped, parseYaml, toConfigIssues, validateConfigText } from './load.ts';
import type { ComponentSpec, Registry } from './registry.ts';

export interface LintResult {
  file: string;
  issues: ConfigIssue[];
}

const YAML_EXT = /\.ya?ml$/i;

/** The files to lint: each path itself, or the YAML files under it when it is a directory. */
export function expandPaths(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) {
      out.push(p);
      continue;
    }
    const entries = readdirSync(p, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const full = join(p, e.name);
      if (e.isDirectory()) out.push(...expandPaths([full]));
      else if (YAML_EXT.test(e.name)) out.push(full);
    }
  }
  return out;
}

/** Validate every file (directories are searched for .yaml/.yml files). */
export function lintFiles(
  paths: readonly string[],
  registry: Registry,
  env: Env = process.env,
): LintResult[] {
  return expandPaths(paths).map((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'read error';
      return {
        file,
        issues: [
          {
            file,
            line: 1,
            col: 1,
            path: '',
            message: `cannot read the config file (${code}); check the path`,
          },
        ],
      };
    }
    return { file, issues: validateConfigText(text, file, registry, env).issues };
  });
}

/** Every issue of every result, one per line, then a summary line. */
export function formatIssues(results: readonly LintResult[]): string {
  const issues = results.flatMap((r) => r.issues);
  const files = results.length;
  const bad = results.filter((r) => r.issues.length > 0).length;
  const summary =
    issues.length === 0
      ? `${files} file${files === 1 ? '' : 's'} checked, no problems`
      : `${issues.length} problem${issues.length === 1 ? '' : 's'} in ${bad} of ${files} file${files === 1 ? '' : 's'}`;
  return issues.length === 0 ? summary : `${formatIssueList(issues)}\n${summary}`;
}

/** 1 when any file has an issue, else 0. */
export function lintExitCode(results: readonly LintResult[]): number {
  return results.some((r) => r.issues.length > 0) ? 1 : 0;
}

/**
 * Check one example of a component spec: its YAML holds the component's own fields (a `type:`
 * for sources and sinks, `from:` for sinks, or an `- <op>:` wrapper for operators are accepted).
 */
export function lintExample(
  spec: ComponentSpec,
  example: { title: string; yaml: string },
  env: Env = {},
): ConfigIssue[] {
  const file = `${spec.kind} ${spec.name}, example "${example.title}"`;
  const parsed = parseYaml(example.yaml, file, env);
  if (parsed.issues.length > 0) return sortIssues(parsed.issues);
  let data = parsed.data ?? {};
  let schema: z.ZodType = spec.config;
  let prefix: string[] = [];
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
    const fields = { ...(data as Record<string, unknown>) };
    const keys = Object.keys(fields);
    if (spec.kind === 'op' && keys.length === 1 && keys[0] === spec.name) {
      fields[spec.name] ??= {};
      schema = z.object({ [spec.name]: spec.config });
      prefix = [spec.name];
    } else {
      if (spec.kind !== 'op' && fields.type === spec.name) delete fields.type;
      if (spec.kind === 'sink') delete fields.from;
    }
    data = fields;
  }
  const scoped = { ...parsed, data };
  const result = parseWithTyped(schema, scoped);
  if (result.success) return [];
  const locate = (path: (string | number)[]) => ({
    schema: spec.config,
    rest: path.slice(prefix.length),
    extraFields: [],
  });
  return sortIssues(result.error.issues.flatMap((issue) => toConfigIssues(scoped, issue, locate)));
}

/**
 * In examples, a reference without a default (`url: ${FEED_URL}`) documents a variable the user
 * sets; it stands for itself rather than being an unset-variable error.
 */
const EXAMPLE_ENV: Env = new Proxy(
  {},
  { get: (_target, name) => (typeof name === 'string' ? `<${name}>` : undefined) },
);

/** Every example of every registered spec, checked (unset variables read as `<NAME>`). */
export function lintSpecExamples(registry: Registry, env: Env = EXAMPLE_ENV): LintResult[] {
  const specs = [...registry.list('source'), ...registry.list('sink'), ...registry.list('op')];
  return specs.flatMap((spec) =>
    (spec.examples ?? []).map((example) => ({
      file: `${spec.kind} ${spec.name}, example "${example.title}"`,
      issues: lintExample(spec, example, env),
    })),
  );
}
