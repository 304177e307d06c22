/**
 * Config pieces shared by many components: durations, byte sizes, the one batch policy shape,
 * declared schemas, decoding and backpressure. Every object is strict (unknown keys are errors).
 */
import { z } from 'zod';
import { parseBytes, parseDuration } from './units.ts';

/** A fixed duration (`100ms`, `5s`, `1m30s`), parsed to milliseconds. */
export const zDurationMs = z
  .string()
  .describe('A duration such as 100ms, 5s, 1m30s')
  .transform((text, ctx) => {
    const d = parseDuration(text);
    if (d?.months !== 0) {
      ctx.addIssue({ code: 'custom', message: 'expected a duration such as 100ms, 5s or 1m' });
      return z.NEVER;
    }
    return d.micros / 1000 + d.days * 86_400_000;
  });

/** A duration that may be calendar-based (`1d`, `1w`, `1mo`), kept as text for the operator. */
export const zCalendarDuration = z
  .string()
  .describe('A duration such as 1s, 1m, 1h, 1d, 1w, 1mo (Polars duration strings)')
  .refine((text) => parseDuration(text) !== undefined, {
    message: 'expected a duration such as 1s, 1m, 1d, 1w or 1mo',
  });

/** A byte size (`4MiB`, `512KB`, or a number of bytes). */
export const zBytes = z
  .union([z.number().int().nonnegative(), z.string()])
  .describe('A size in bytes, e.g. 4MiB, 512KB or 1048576')
  .transform((v, ctx) => {
    const n = parseBytes(v);
    if (n === undefined) {
      ctx.addIssue({ code: 'custom', message: 'expected a byte size such as 4MiB or 512KB' });
      return z.NEVER;
    }
    return n;
  });

/**
 * The one batch policy shape (Benthos `BatchPolicy`): a batch is flushed when any limit is
 * reached. `period` is measured from the last flush.
 */
export const zBatchPolicy = z
  .strictObject({
    count: z.number().int().positive().default(10_000).describe('Flush when this many rows are pending'),
    bytes: zBytes.default(4 * 1024 * 1024).describe('Flush when the pending payload bytes reach this'),
    period: zDurationMs.default(100).describe('Flush when this long has passed since the last flush'),
  })
  .describe('Micro-batch policy: flush on whichever of count, bytes or period comes first');
export type BatchPolicy = z.output<typeof zBatchPolicy>;

export const COLUMN_TYPES = ['timestamp', 'symbol', 'f64', 'i64', 'bool', 'utf8'] as const;

/** Declared schema: column name → type, in order. */
export const zSchemaDecl = z
  .record(z.string().min(1), z.enum(COLUMN_TYPES))
  .describe('Columns of the Arrow schema, in order: name → timestamp | symbol | f64 | i64 | bool | utf8');
export type SchemaDecl = z.output<typeof zSchemaDecl>;

export const TIMESTAMP_INPUT_UNITS = ['s', 'ms', 'us', 'ns', 'iso'] as const;

/** How each column is found in a decoded JSON object. */
export const zFieldMapping = z
  .union([
    z.string().min(1),
    z.strictObject({
      path: z.string().min(1).describe('Dotted path in the JSON object, e.g. data.p or bids.0.0'),
      unit: z.enum(TIMESTAMP_INPUT_UNITS).optional().describe('For timestamp columns: unit of the input'),
    }),
  ])
  .describe('A field name or dotted path, or {path, unit} for timestamps');

export const zDecode = z
  .strictObject({
    format: z.literal('json').default('json').describe('Payload format'),
    /** Where rows are: the whole message (object or array of objects) or a path inside it. */
    rows: z.string().optional().describe('Dotted path to an array of row objects inside each message'),
    timestamp: z
      .strictObject({
        field: z.string().min(1).describe('Field or dotted path of the event time'),
        unit: z
          .enum(TIMESTAMP_INPUT_UNITS)
          .default('ms')
          .describe('Unit of numeric timestamps, or iso for ISO-8601 strings'),
      })
      .optional()
      .describe('Event-time field for the first timestamp column'),
    fields: z
      .record(z.string(), zFieldMapping)
      .default({})
      .describe('Column → field or path; columns not listed are read from the field of the same name'),
    filter: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      .optional()
      .describe('Only messages whose fields equal these values are decoded; others are skipped (counted)'),
  })
  .describe('Decoding of message payloads into rows of the declared schema');
export type DecodeConfig = z.output<typeof zDecode>;

export const zBackpressure = z
  .strictObject({
    high_water: z
      .number()
      .int()
      .positive()
      .default(200_000)
      .describe('Pause the source when this many rows are queued'),
    low_water: z
      .number()
      .int()
      .nonnegative()
      .default(50_000)
      .describe('Resume the source when the queue falls to this many rows'),
  })
  .describe('Bounded queue between the source and the pipeline')
  .refine((b) => b.low_water < b.high_water, { message: 'low_water must be below high_water' });
export type BackpressureConfig = z.output<typeof zBackpressure>;

/** Fields every source has besides its own: how its messages become Arrow batches. */
export const zSourceCommon = {
  schema: zSchemaDecl,
  decode: zDecode.default({ format: 'json', fields: {} }),
  batch: zBatchPolicy.default({ count: 10_000, bytes: 4 * 1024 * 1024, period: 100 }),
  backpressure: zBackpressure.default({ high_water: 200_000, low_water: 50_000 }),
};
