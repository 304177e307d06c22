import type { Registry } from '../../config/registry.ts';
import { consoleSink } from './sink.ts';

export { LiveScreen, screenFor } from './screen.ts';
export { ConsoleSink, consoleConfig, consoleSink } from './sink.ts';

export function register(registry: Registry): void {
  registry.register(consoleSink);
}
