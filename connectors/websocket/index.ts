import type { Registry } from '../../config/registry.ts';
import { websocketSource } from './source.ts';

export { type GapReport, type SequenceStats, SequenceTracker } from './sequence.ts';
export {
  displayUrl,
  type WebsocketConfig,
  type WebsocketContext,
  WebsocketSource,
  type WebsocketStats,
  websocketConfig,
  websocketSource,
} from './source.ts';

export function register(registry: Registry): void {
  registry.register(websocketSource);
}
