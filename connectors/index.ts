/**
 * The connectors barrel: registers every built-in source and sink of this folder. The default
 * registry (`config/default-registry.ts`) calls it; tests build their own registries instead.
 */
import type { Registry } from '../config/registry.ts';
import { register as registerArrowFile } from './arrow_file/index.ts';
import { register as registerConsole } from './console/index.ts';
import { register as registerWebsocket } from './websocket/index.ts';

export function register(registry: Registry): void {
  registerWebsocket(registry);
  registerConsole(registry);
  registerArrowFile(registry);
}
