/**
 * The schema of a whole pipeline file, built from the registry: `sources` and `sinks` dispatch on
 * `type:` to the registered spec, each `ops:` item (`- <op>: {config}`) to the op's spec. Unknown
 * keys are errors everywhere. Issues keep the path of the YAML input, so the loader can point at
 * the offending node. References between names are checked afterwards (`crossref.ts`).
 */
import { z } from 'zod';
import { zDurationMs } from './common.ts';
import { suggest, typeName } from './issues.ts';
import type { OpConfig, PipelineConfig, SinkConfig, SourceConfig, StreamConfig } from './pipeline-config.ts';
import type { ComponentKind, ComponentSpec, Registry } from './registry.ts';

/** Names of sources, streams and sinks: used in metrics, logs and `from:` references. */
export const zName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, {
  message: 'names use letters, digits, _ and -, starting with a letter',
});

/** A reference to a source or stream by name. */
export const zRef = z.string().min(1).describe('Name of a source or stream');

export const DEFAULT_DEAD_LETTER_PATH = 'out/dead-letters.jsonl';
export const DEFAULT_HTTP_LISTEN = '127.0.0.1:9464';
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 20_000;

export const zDeadLetter = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .default(DEFAULT_DEAD_LETTER_PATH)
      .describe('JSONL file for rows that cannot be processed, relative to the config file'),
  })
  .describe('Where rows that cannot be processed are written, with their reason');

export const zHttp = z
  .strictObject({
    listen: z
      .string()
      .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, {
        message: 'expected host:port such as 127.0.0.1:9464',
      })
      .default(DEFAULT_HTTP_LISTEN)
      .describe('host:port of the HTTP endpoint (/metrics, /health/live, /health/ready)'),
  })
  .describe('HTTP endpoint for metrics and health checks; absent means off');

export const zShutdown = z
  .strictObject({
    timeout: zDurationMs
      .default(DEFAULT_SHUTDOWN_TIMEOUT_MS)
      .describe('How long a graceful shutdown may take before in-flight rows are nacked'),
  })
  .describe('Graceful shutdown');

/** `from:` of a sink: one name or a list of names. */
export const zSinkFrom = z
  .union([zRef, z.array(zRef).min(1)])
  .describe('Source or stream (or a list of them) whose batches this sink receives');

const KIND_WORD: Record<ComponentKind, string> = { source: 'source', sink: 'sink', op: 'operator' };

function known(registry: Registry, kind: ComponentKind): string[] {
  return registry.list(kind).map((s) => s.name);
}

function knownList(registry: Registry, kind: ComponentKind): string {
  const names = known(registry, kind);
  return names.length === 0 ? `no ${KIND_WORD[kind]} types are registered` : `known: ${names.join(', ')}`;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

type Ctx = z.core.$RefinementCtx;

/** Re-report a component's issues under `prefix` (paths stay those of the YAML input). */
function report(ctx: Ctx, issues: readonly z.core.$ZodIssue[], prefix: (string | number)[] = []): void {
  for (const issue of issues) ctx.addIssue({ ...issue, path: [...prefix, ...issue.path] } as never);
}

/** Parse `type:` and look up its spec; reports and returns undefined when it cannot. */
function specFor(registry: Registry, kind: 'source' | 'sink', value: unknown, ctx: Ctx) {
  if (!isMap(value)) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a map with type: and the ${kind}'s fields, got ${typeName(value)}`,
    });
    return undefined;
  }
  const type = value.type;
  if (type === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['type'],
      message: `required field is missing; expected a ${kind} type (${knownList(registry, kind)})`,
    });
    return undefined;
  }
  if (typeof type !== 'string') {
    ctx.addIssue({
      code: 'custom',
      path: ['type'],
      message: `expected a ${kind} type (${knownList(registry, kind)}), got ${typeName(type)}`,
    });
    return undefined;
  }
  const spec = kind === 'source' ? registry.source(type) : registry.sink(type);
  if (!spec) {
    const hint = suggest(type, known(registry, kind));
    ctx.addIssue({
      code: 'custom',
      path: ['type'],
      message: `unknown ${kind} type "${type}"${hint ? `; did you mean "${hint}"?` : ''} (${knownList(registry, kind)})`,
    });
    return undefined;
  }
  return { spec, type, fields: value };
}

function sourceEntry(registry: Registry) {
  return z.unknown().transform((value, ctx): SourceConfig => {
    const found = specFor(registry, 'source', value, ctx);
    if (!found) return z.NEVER;
    const { type: _type, ...fields } = found.fields;
    const r = found.spec.config.safeParse(fields);
    if (!r.success) {
      report(ctx, r.error.issues);
      return z.NEVER;
    }
    return { ...(r.data as object), type: found.type } as SourceConfig;
  });
}

function sinkEntry(registry: Registry) {
  return z.unknown().transform((value, ctx): SinkConfig => {
    const found = specFor(registry, 'sink', value, ctx);
    if (!found) return z.NEVER;
    const { type: _type, from, ...fields } = found.fields;
    const f = zSinkFrom.safeParse(from);
    const r = found.spec.config.safeParse(fields);
    if (!f.success) report(ctx, f.error.issues, ['from']);
    if (!r.success) report(ctx, r.error.issues);
    if (!f.success || !r.success) return z.NEVER;
    const names = typeof f.data === 'string' ? [f.data] : f.data;
    return { ...(r.data as object), type: found.type, from: names } as SinkConfig;
  });
}

function opEntry(registry: Registry) {
  return z.unknown().transform((value, ctx): OpConfig => {
    const keys = isMap(value) ? Object.keys(value) : [];
    if (!isMap(value) || keys.length !== 1) {
      const got = isMap(value) ? `a map with ${keys.length} keys` : typeName(value);
      ctx.addIssue({
        code: 'custom',
        message: `expected one operator per list item, written "- <operator>: {...}" (${knownList(registry, 'op')}), got ${got}`,
      });
      return z.NEVER;
    }
    const name = keys[0];
    const spec = registry.op(name);
    if (!spec) {
      const hint = suggest(name, known(registry, 'op'));
      ctx.addIssue({
        code: 'custom',
        path: [name],
        params: { at: 'key' },
        message: `unknown operator "${name}"${hint ? `; did you mean "${hint}"?` : ''} (${knownList(registry, 'op')})`,
      });
      return z.NEVER;
    }
    const r = spec.config.safeParse(value[name] ?? {});
    if (!r.success) {
      report(ctx, r.error.issues, [name]);
      return z.NEVER;
    }
    return { name, config: r.data };
  });
}

function streamSchema(registry: Registry) {
  return z.strictObject({
    from: zRef.describe('Source or stream this stream reads'),
    ops: z.array(opEntry(registry)).default([]).describe('Operators applied in order'),
  });
}

/** The pipeline shape before it is tied to a file (`file` and resolved paths come from the loader). */
export type PipelineShape = Omit<PipelineConfig, 'file'>;

/** Top-level fields; each value is the schema of that section. */
export function pipelineShape(registry: Registry) {
  return {
    sources: z.record(zName, sourceEntry(registry)).describe('Named sources: where rows come from'),
    streams: z
      .record(zName, streamSchema(registry))
      .default({})
      .describe('Named streams: a source or stream with operators applied'),
    sinks: z
      .record(zName, sinkEntry(registry))
      .default({})
      .describe('Named sinks: where batches of sources and streams go'),
    dead_letter: zDeadLetter.default({ path: DEFAULT_DEAD_LETTER_PATH }),
    http: zHttp.optional(),
    shutdown: zShutdown.default({ timeout: DEFAULT_SHUTDOWN_TIMEOUT_MS }),
  };
}

/** The zod schema of a pipeline file, dispatching to the registry's specs. */
export function buildPipelineSchema(registry: Registry): z.ZodType<PipelineShape> {
  return z.strictObject(pipelineShape(registry)).transform(
    (c): PipelineShape => ({
      sources: c.sources,
      streams: c.streams as Record<string, StreamConfig>,
      sinks: c.sinks,
      dead_letter: c.dead_letter,
      ...(c.http ? { http: c.http } : {}),
      shutdown_timeout: c.shutdown.timeout,
    }),
  ) as unknown as z.ZodType<PipelineShape>;
}

/** A schema and the path inside it, for the value at `path` of a pipeline document. */
export interface SchemaLocation {
  schema: z.ZodType;
  rest: (string | number)[];
  /** Extra field names the dispatcher takes besides the spec's own (`type`, `from`). */
  extraFields: string[];
  /** The spec when the path is inside a component. */
  spec?: ComponentSpec;
}

/**
 * Which schema validates the value at `path` of the raw document `data`: a component's spec
 * inside sources, sinks and ops, the top-level sections otherwise.
 */
export function locateSchema(
  registry: Registry,
  data: unknown,
  path: readonly (string | number)[],
): SchemaLocation {
  const [section, name, ...rest] = path;
  const entry = isMap(data) && isMap(data[section as string]) ? (data as any)[section][name] : undefined;
  if ((section === 'sources' || section === 'sinks') && path.length >= 2) {
    const type = isMap(entry) ? entry.type : undefined;
    const spec =
      typeof type === 'string'
        ? section === 'sources'
          ? registry.source(type)
          : registry.sink(type)
        : undefined;
    const extraFields = section === 'sources' ? ['type'] : ['type', 'from'];
    if (section === 'sinks' && rest[0] === 'from') {
      return { schema: zSinkFrom, rest: rest.slice(1), extraFields: [] };
    }
    if (spec) return { schema: spec.config, rest, extraFields, spec };
    return { schema: z.strictObject({ type: z.string() }), rest, extraFields: [] };
  }
  if (section === 'streams' && path.length >= 5 && rest[0] === 'ops' && typeof rest[2] === 'string') {
    const spec = registry.op(rest[2]);
    if (spec) return { schema: spec.config, rest: rest.slice(3), extraFields: [], spec };
  }
  return { schema: z.strictObject(pipelineShape(registry)), rest: [...path], extraFields: [] };
}
