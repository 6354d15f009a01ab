import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import type { LogLevel } from '@temporalio/common';

/**
 * The worker's log format: one JSON object per line on stderr, `{time, level, msg, ...meta}`,
 * for log shippers that parse JSON lines. Everything the SDK logs (worker, workflow and
 * activity context loggers, and the native core when forwarded) passes through here,
 * and through the registry's redaction as a last line of defence for secrets.
 */

const MAX_STRING = 4_000;

/** A meta value as plain JSON: errors as {name, message, type?}, bigints as strings, long strings clipped. */
function plain(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  if (typeof value !== 'object') return value;
  if (value instanceof Error) {
    const e = value as Error & { type?: unknown; cause?: unknown };
    return {
      name: e.name,
      message: e.message,
      ...(typeof e.type === 'string' ? { type: e.type } : {}),
      ...(e.cause !== undefined && depth < 3 ? { cause: plain(e.cause, depth + 1) } : {}),
    };
  }
  if (value instanceof Date) return value.toISOString();
  if (depth >= 5) return '[nested]';
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => plain(v, depth + 1));
  // A Secret (or anything else with toJSON) decides how it prints.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return (value as { toJSON(): unknown }).toJSON();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = plain(v, depth + 1);
  return out;
}

/** One log entry as a JSON line (no trailing newline). */
export function formatLogLine(entry: LogEntry, redact: (text: string) => string = (t) => t): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const { message, level } = entry;
  const meta = entry.meta ? (plain(entry.meta) as Record<string, unknown>) : {};
  // time/level/msg come first and a meta key of the same name cannot overwrite them.
  const { time: _time, level: _level, msg: _msg, ...rest } = meta;
  return redact(JSON.stringify({ time, level, msg: message, ...rest }));
}

export interface JsonLinesLoggerOptions {
  level?: LogLevel;
  redact?: (text: string) => string;
  write?: (line: string) => void;
}

/** A Runtime logger that writes JSON lines (default: to stderr). */
export function jsonLinesLogger(options: JsonLinesLoggerOptions = {}): DefaultLogger {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  return new DefaultLogger(options.level ?? 'INFO', (entry) => write(formatLogLine(entry, options.redact)));
}
