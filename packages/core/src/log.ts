import { redact, redactString } from './redact.ts';

/**
 * Structured logging for handlers, the CLI and the sandbox. The domain takes a {@link Logger} as a
 * dependency; the edge decides where lines go (JSON lines on stdout in Lambda, human text on stderr in
 * the CLI). Every line passes through {@link redact}, so a secret handed to a logger by mistake is
 * scrubbed rather than shipped.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** One log record after redaction, as handed to a sink. */
export interface LogRecord {
  level: LogLevel;
  message: string;
  time: string;
  fields: LogFields;
}

export type LogSink = (record: LogRecord) => void;

export interface LoggerOptions {
  sink: LogSink;
  level?: LogLevel;
  fields?: LogFields;
  now?: () => Date;
}

/** A logger that redacts every record and hands it to `sink`. */
export function createLogger(options: LoggerOptions): Logger {
  const min = ORDER[options.level ?? 'info'];
  const base = options.fields ?? {};
  const now = options.now ?? (() => new Date());
  const write = (level: LogLevel, message: string, fields?: LogFields) => {
    if (ORDER[level] < min) return;
    options.sink({
      level,
      message: redactString(message),
      time: now().toISOString(),
      fields: redact({ ...base, ...fields }) as LogFields,
    });
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** Sink writing one JSON object per line (what CloudWatch Logs Insights parses). */
export function jsonLineSink(write: (line: string) => void): LogSink {
  return (r) =>
    write(`${JSON.stringify({ level: r.level, time: r.time, message: r.message, ...r.fields })}\n`);
}

/** A logger that drops everything (tests that do not assert on logs, library defaults). */
export const silentLogger: Logger = createLogger({ sink: () => {}, level: 'error' });

/** Sink that keeps records in memory; tests assert on what was logged (and on what was not). */
export function memorySink(): LogSink & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  const sink = ((r: LogRecord) => {
    records.push(r);
  }) as LogSink & { records: LogRecord[] };
  sink.records = records;
  return sink;
}
