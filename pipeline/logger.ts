/**
 * Structured logging to stderr: one JSON object per line when the stream is not a terminal (for
 * log shippers), a short `time LEVEL msg key=value` line on a terminal. Fields whose name says
 * they hold a secret (password, token, secret, key, ...) are masked at any depth, and passwords
 * inside URLs (`amqp://user:pass@host`) are masked in the message and in every string field, so
 * a slip never prints a credential.
 */
import { isSecretField, redactUrl } from '../config/redact.ts';
import type { Logger } from './types.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export const MASK = '***';

export interface LogWriter {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface LoggerOptions {
  /** Lowest level written (default `info`, or `POLAROID_LOG_LEVEL`). */
  level?: LogLevel;
  /** Where lines go (default `process.stderr`). */
  stream?: LogWriter;
  /** Text lines instead of JSON (default: whether the stream is a TTY). */
  pretty?: boolean;
  /** Epoch milliseconds for the `time` field (default `Date.now`). */
  now?: () => number;
  /** Fields added to every line (e.g. `{ component: 'trades' }`). */
  fields?: Record<string, unknown>;
}

/** A {@link Logger} that can derive children carrying extra fields. */
export interface StructuredLogger extends Logger {
  child(fields: Record<string, unknown>): StructuredLogger;
  readonly level: LogLevel;
}

export function isLogLevel(v: unknown): v is LogLevel {
  return typeof v === 'string' && v in LEVEL_RANK;
}

export function createLogger(options: LoggerOptions = {}): StructuredLogger {
  const envLevel = process.env.POLAROID_LOG_LEVEL;
  const level = options.level ?? (isLogLevel(envLevel) ? envLevel : 'info');
  const stream = options.stream ?? process.stderr;
  const pretty = options.pretty ?? stream.isTTY === true;
  const now = options.now ?? Date.now;
  return build(level, stream, pretty, now, maskFields(options.fields ?? {}));
}

function build(
  level: LogLevel,
  stream: LogWriter,
  pretty: boolean,
  now: () => number,
  base: Record<string, unknown>,
): StructuredLogger {
  const min = LEVEL_RANK[level];
  const log = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (LEVEL_RANK[lvl] < min) return;
    const all = fields === undefined ? base : { ...base, ...maskFields(fields) };
    const text = redactUrl(msg);
    stream.write(pretty ? textLine(now(), lvl, text, all) : jsonLine(now(), lvl, text, all));
  };
  return {
    level,
    debug: (msg, fields) => log('debug', msg, fields),
    info: (msg, fields) => log('info', msg, fields),
    warn: (msg, fields) => log('warn', msg, fields),
    error: (msg, fields) => log('error', msg, fields),
    child: (fields) => build(level, stream, pretty, now, { ...base, ...maskFields(fields) }),
  };
}

/** A logger that writes nothing (tests, benchmarks). */
export const silentLogger: StructuredLogger = Object.freeze({
  level: 'error' as LogLevel,
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
});

/** Copy of `fields` with secret-named values masked and errors turned into plain objects. */
export function maskFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(fields)) out[key] = isSecretField(key) ? MASK : maskValue(fields[key], 0);
  return out;
}

function maskValue(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return redactUrl(v);
  if (v === null || typeof v !== 'object') return typeof v === 'bigint' ? v.toString() : v;
  if (depth > 6) return '[depth]';
  if (v instanceof Error) {
    const e: Record<string, unknown> = { name: v.name, message: redactUrl(v.message) };
    const code = (v as { code?: unknown }).code;
    if (code !== undefined) e.code = code;
    return e;
  }
  if (Array.isArray(v)) return v.map((x) => maskValue(x, depth + 1));
  if (v instanceof Date) return v.toISOString();
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v)) {
    out[key] = isSecretField(key) ? MASK : maskValue((v as Record<string, unknown>)[key], depth + 1);
  }
  return out;
}

function jsonLine(t: number, level: LogLevel, msg: string, fields: Record<string, unknown>): string {
  return `${JSON.stringify({ time: new Date(t).toISOString(), level, msg, ...fields })}\n`;
}

function textLine(t: number, level: LogLevel, msg: string, fields: Record<string, unknown>): string {
  let line = `${new Date(t).toISOString().slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${msg}`;
  for (const key of Object.keys(fields)) {
    const v = fields[key];
    line += ` ${key}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`;
  }
  return `${line}\n`;
}
