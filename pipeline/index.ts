/**
 * The pipeline runtime's public surface: contracts, the runtime, and the pieces it is built from
 * (for components and servers that need them). Test fakes live in `pipeline/testing.ts`.
 */
export { type AckHandle, AckSet, NOOP_ACK } from './acks.ts';
export { Batcher, type BatcherHooks, type BatcherOptions, splitAck } from './batcher.ts';
export { systemClock, VirtualClock } from './clock.ts';
export { type AppendFile, FileDeadLetters, MemoryDeadLetters, openAppendFile } from './dead-letters.ts';
export {
  DeadLetterWriteError,
  OperatorFailedError,
  PipelineStateError,
  PolaroidError,
  QueueFullError,
  ShutdownAbandonedError,
  UnknownComponentError,
  UnknownStreamError,
} from './errors.ts';
export {
  createLogger,
  type LoggerOptions,
  type LogLevel,
  maskFields,
  type StructuredLogger,
  silentLogger,
} from './logger.ts';
export { type ComponentRole, PipelineMetrics } from './metrics.ts';
export { SourceQueue } from './queue.ts';
export {
  createPipeline,
  type DecoderFactory,
  jsonDecoderFactory,
  type Pipeline,
  type PipelineOptions,
  type PipelineState,
  type PipelineStatus,
  type SinkStatus,
  type SourceStatus,
  type StopReport,
} from './runtime.ts';
export { installSignalHandlers, type SignalOptions } from './shutdown.ts';
export type * from './types.ts';
