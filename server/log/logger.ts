/**
 * Structured logging for the hub: one JSON object per line, with the fields a
 * component attached through `child()`. The hub never logs through console.*
 * directly, so a surface (Node-RED, the CLI, a test) chooses where lines go.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { redactDeep } from './redact';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line it writes. */
  child(fields: LogFields): Logger;
}

export interface LogRecord extends LogFields {
  time: string;
  level: LogLevel;
  msg: string;
}

export type LogSink = (record: LogRecord) => void;

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && value in LEVEL_ORDER;
}

/** Writes JSON lines to stderr. */
export const stderrSink: LogSink = (record) => {
  process.stderr.write(JSON.stringify(record, errorReplacer) + '\n');
};

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, ...(value as Error & { code?: unknown }).code !== undefined ? { code: (value as Error & { code?: unknown }).code } : {} };
  }
  return value;
}

const logScope = new AsyncLocalStorage<LogFields>();

/**
 * Runs `work` so that every line any logger writes while it (and whatever it
 * starts: awaits, timers, emitted events) runs carries `fields` too. The HTTP
 * server wraps each request in one, so every line written on behalf of a
 * request carries its request id, whichever component's logger wrote it.
 */
export function withLogFields<T>(fields: LogFields, work: () => T): T {
  return logScope.run({ ...logScope.getStore(), ...fields }, work);
}

export function createLogger(options: { level?: LogLevel; sink?: LogSink; fields?: LogFields } = {}): Logger {
  const min = LEVEL_ORDER[options.level ?? 'info'];
  const sink = options.sink ?? stderrSink;
  const base = options.fields ?? {};
  const write = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (LEVEL_ORDER[level] < min) return;
    // No secret reaches a sink: URL credentials (a broker URL with a password) and secret-named fields are redacted.
    const record = redactDeep({ msg: message, ...logScope.getStore(), ...base, ...fields });
    sink({ time: new Date().toISOString(), level, ...record });
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ level: options.level ?? 'info', sink, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = createLogger({ sink: () => undefined, level: 'error' });
