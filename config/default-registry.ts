/**
 * The default registry: every built-in source, sink and operator. Tests that want fakes build
 * an empty `new Registry()` instead.
 */
import { register as registerConnectors } from '../connectors/index.ts';
import { register as registerOperators } from '../timeseries/index.ts';
import { Registry } from './registry.ts';

export function defaultRegistry(): Registry {
  const registry = new Registry();
  registerConnectors(registry);
  registerOperators(registry);
  return registry;
}
