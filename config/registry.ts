/**
 * The component registry: an instance, not a global (as Benthos' `NewEnvironment`). Tests build
 * an empty one and register fakes; the default one is filled by importing the connectors,
 * operators and sinks barrels (see `defaultRegistry()` in `config/default-registry.ts`).
 *
 * A component is one file: its zod config spec (with `.describe()` on each field), a summary,
 * examples, a stability level, the factory, and the line that registers it.
 */
import type { z } from 'zod';
import type { BatchOperator, ComponentContext, Sink, Source } from '../pipeline/types.ts';

export type ComponentKind = 'source' | 'sink' | 'op';
export type Stability = 'stable' | 'beta' | 'experimental';

interface SpecBase<C> {
  /** `type:` of a source or sink, or the key of an `ops:` entry. */
  name: string;
  summary: string;
  stability: Stability;
  /** Strict zod schema of the component's own fields (for sources/sinks, without `type`). */
  config: z.ZodType<C>;
  /** Example configs (YAML text of the component's fields); each is parsed by a test. */
  examples?: { title: string; yaml: string }[];
}

export interface SourceSpec<C = unknown> extends SpecBase<C> {
  kind: 'source';
  create(config: C, ctx: ComponentContext): Source;
}

export interface SinkSpec<C = unknown> extends SpecBase<C> {
  kind: 'sink';
  create(config: C, ctx: ComponentContext): Sink;
}

export interface OpSpec<C = unknown> extends SpecBase<C> {
  kind: 'op';
  create(config: C, ctx: ComponentContext): BatchOperator;
}

export type ComponentSpec = SourceSpec<any> | SinkSpec<any> | OpSpec<any>;

export class Registry {
  private readonly byKind: Record<ComponentKind, Map<string, ComponentSpec>> = {
    source: new Map(),
    sink: new Map(),
    op: new Map(),
  };

  register<S extends ComponentSpec>(spec: S): S {
    const table = this.byKind[spec.kind];
    if (table.has(spec.name)) throw new Error(`${spec.kind} "${spec.name}" is already registered`);
    table.set(spec.name, spec);
    return spec;
  }

  source(name: string): SourceSpec | undefined {
    return this.byKind.source.get(name) as SourceSpec | undefined;
  }

  sink(name: string): SinkSpec | undefined {
    return this.byKind.sink.get(name) as SinkSpec | undefined;
  }

  op(name: string): OpSpec | undefined {
    return this.byKind.op.get(name) as OpSpec | undefined;
  }

  list(kind: ComponentKind): ComponentSpec[] {
    return [...this.byKind[kind].values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
