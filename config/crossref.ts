/**
 * Checks between names, after every section has passed its schema: `from:` and `right:` name an
 * existing source or stream, sources and streams do not share a name, and streams form no cycle.
 */

import { suggest } from './issues.ts';
import type { PipelineShape } from './pipeline-schema.ts';

export interface RefProblem {
  path: (string | number)[];
  /** Point at the key of the entry (a name) rather than its value. */
  atKey?: boolean;
  message: string;
}

interface Edge {
  to: string;
  path: (string | number)[];
}

export function checkReferences(config: PipelineShape, raw: unknown): RefProblem[] {
  const problems: RefProblem[] = [];
  const sources = Object.keys(config.sources);
  const streams = Object.keys(config.streams);
  const names = [...new Set([...sources, ...streams])];
  const exists = (n: string) => n in config.sources || n in config.streams;
  const unknown = (name: string) => {
    const hint = suggest(name, names);
    const list = names.length === 0 ? 'none are defined' : `known: ${names.join(', ')}`;
    return `unknown source or stream "${name}"${hint ? `; did you mean "${hint}"?` : ''} (${list})`;
  };

  for (const name of streams) {
    if (name in config.sources) {
      problems.push({
        path: ['streams', name],
        atKey: true,
        message: `name "${name}" is also a source; sources and streams need distinct names`,
      });
    }
  }

  const edges = new Map<string, Edge[]>();
  for (const name of streams) {
    const stream = config.streams[name];
    const out: Edge[] = [];
    const fromPath = ['streams', name, 'from'];
    if (!exists(stream.from)) problems.push({ path: fromPath, message: unknown(stream.from) });
    else if (stream.from in config.streams) out.push({ to: stream.from, path: fromPath });
    stream.ops.forEach((op, i) => {
      const right = (op.config as { right?: unknown } | null)?.right;
      if (typeof right !== 'string') return;
      const path = ['streams', name, 'ops', i, op.name, 'right'];
      if (!exists(right)) problems.push({ path, message: unknown(right) });
      else if (right in config.streams) out.push({ to: right, path });
    });
    edges.set(name, out);
  }

  const rawSinks = (raw as { sinks?: Record<string, { from?: unknown }> } | null)?.sinks ?? {};
  for (const [name, sink] of Object.entries(config.sinks)) {
    const listed = Array.isArray(rawSinks[name]?.from);
    sink.from.forEach((from, i) => {
      if (exists(from)) return;
      problems.push({
        path: listed ? ['sinks', name, 'from', i] : ['sinks', name, 'from'],
        message: unknown(from),
      });
    });
  }

  // A stream named like a source makes `from:` ambiguous: report the clash alone, not a cycle.
  if (!streams.some((n) => n in config.sources)) problems.push(...findCycles(streams, edges));
  return problems;
}

/** Every cycle among streams, reported once, at the edge leaving its first stream. */
function findCycles(streams: string[], edges: Map<string, Edge[]>): RefProblem[] {
  const problems: RefProblem[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const reported = new Set<string>();
  const stack: { name: string; edge?: Edge }[] = [];

  const visit = (name: string) => {
    state.set(name, 'open');
    for (const edge of edges.get(name) ?? []) {
      stack.push({ name, edge });
      const s = state.get(edge.to);
      if (s === 'open') {
        const start = stack.findIndex((f) => f.name === edge.to);
        const cycle = stack.slice(start);
        const key = cycle
          .map((f) => f.name)
          .sort()
          .join('\0');
        if (!reported.has(key)) {
          reported.add(key);
          const first = cycle[0];
          const route = [...cycle.map((f) => f.name), edge.to].join(' -> ');
          problems.push({
            path: first.edge!.path,
            message: `streams form a cycle: ${route}; a stream must read from sources or from streams that do not read it back`,
          });
        }
      } else if (s === undefined) {
        visit(edge.to);
      }
      stack.pop();
    }
    state.set(name, 'done');
  };

  for (const name of streams) if (!state.has(name)) visit(name);
  return problems;
}
