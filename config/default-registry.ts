/**
 * The default registry: every built-in source, sink and operator. Tests that want fakes build
 * an empty `new Registry()` instead.
 */
import { Registry } from './registry.ts';

export function defaultRegistry(): Registry {
  const registry = new Registry();
  return registry;
}
