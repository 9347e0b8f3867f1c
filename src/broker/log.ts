/** Severity of a broker log line. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured logging: one JSON object per line (`ts`, `level`, `msg`, then fields). */
export type Logger = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

/**
 * A logger writing JSON lines to `stream`, each with the `base` fields (e.g. the replica id).
 * Callers never pass tokens or passwords; values are logged as given.
 */
export function jsonLogger(stream: NodeJS.WritableStream, base: Record<string, unknown> = {}): Logger {
  return (level, msg, fields = {}) => {
    stream.write(`${JSON.stringify({ ts: new Date().toISOString(), level, msg, ...base, ...fields })}\n`);
  };
}
