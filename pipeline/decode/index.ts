/**
 * Decoding of source payloads into Arrow column builders: the JSON decoder, the builders it
 * writes into, and the ISO-8601 parser it uses for timestamps.
 */
export {
  BoolBuilder,
  type ColumnBuilder,
  F64Builder,
  I64Builder,
  SymbolBuilder,
  TimestampBuilder,
  Utf8Builder,
} from './columns.ts';
export type { Decoder, Reject } from './decoder.ts';
export { parseIsoMicros } from './iso8601.ts';
export {
  createJsonDecoder,
  DecodeConfigError,
  type JsonDecoder,
  type JsonDecoderOptions,
  numericString,
} from './json.ts';
