/**
 * The parsed, validated pipeline config: what `loadConfig` returns and the runtime builds from.
 * Everything here is already checked (types, references between names, no cycles).
 */
import type { BackpressureConfig, BatchPolicy, DecodeConfig, SchemaDecl } from './common.ts';

/** Fields every source has; its own fields come with it (parsed by the source's spec). */
export interface SourceConfig {
  type: string;
  schema: SchemaDecl;
  decode: DecodeConfig;
  batch: BatchPolicy;
  backpressure: BackpressureConfig;
  [field: string]: unknown;
}

/** One entry of a stream's `ops:` list: `- resample_ohlcv: {...}` gives name + parsed config. */
export interface OpConfig {
  name: string;
  config: unknown;
}

export interface StreamConfig {
  /** A source or another stream. */
  from: string;
  ops: OpConfig[];
}

export interface SinkConfig {
  type: string;
  /** Sources or streams whose batches this sink receives. */
  from: string[];
  [field: string]: unknown;
}

export interface PipelineConfig {
  /** Absolute path of the config file. */
  file: string;
  sources: Record<string, SourceConfig>;
  streams: Record<string, StreamConfig>;
  sinks: Record<string, SinkConfig>;
  /** Where rows that cannot be processed go: a JSONL file by default (`out/dead-letters.jsonl`). */
  dead_letter: { path: string };
  /** HTTP endpoint for /metrics and health; absent = off. */
  http?: { listen: string };
  /** Graceful shutdown deadline in ms (default 20 s). */
  shutdown_timeout: number;
}
