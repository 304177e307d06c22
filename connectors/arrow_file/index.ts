import type { Registry } from '../../config/registry.ts';
import { arrowFileSink } from './sink.ts';

export { ArrowFileError, ArrowFileSink, arrowFileConfig, arrowFileSink } from './sink.ts';

export function register(registry: Registry): void {
  registry.register(arrowFileSink);
}
