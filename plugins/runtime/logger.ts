/**
 * The plugin server's only logger. It writes JSON lines to stderr, never stdout: Kong parses the query command's
 * stdout as JSON, and kong-pdk's habit of logging there broke plugin loading.
 *
 * Fields are restricted to scalars that callers name explicitly: the logger has no way to print RPC arguments,
 * headers or bodies (prompts, keys), at any level.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | undefined>;

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold = LEVELS[(process.env.LLM_LOG_LEVEL as LogLevel) in LEVELS ? (process.env.LLM_LOG_LEVEL as LogLevel) : 'info'];
let write: (line: string) => void = (line) => process.stderr.write(line);

const MAX_FIELD_CHARS = 200;

function emit(level: LogLevel, event: string, fields?: LogFields): void {
  if (LEVELS[level] < threshold) return;
  const record: Record<string, unknown> = { time: new Date().toISOString(), level, event };
  if (fields) {
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      record[k] = typeof v === 'string' && v.length > MAX_FIELD_CHARS ? `${v.slice(0, MAX_FIELD_CHARS)}…` : v;
    }
  }
  write(`${JSON.stringify(record)}\n`);
}

export const log = {
  debug: (event: string, fields?: LogFields) => emit('debug', event, fields),
  info: (event: string, fields?: LogFields) => emit('info', event, fields),
  warn: (event: string, fields?: LogFields) => emit('warn', event, fields),
  error: (event: string, fields?: LogFields) => emit('error', event, fields),
  setLevel(level: LogLevel): void {
    threshold = LEVELS[level];
  },
  /** For tests: capture lines instead of writing to stderr. */
  setWriter(fn: (line: string) => void): void {
    write = fn;
  },
};

/** The message of an error, without stack or attached data. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
