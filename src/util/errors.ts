/**
 * Base class for every error jit reports to a person. Each module defines its own subclass
 * (ConfigError, GrantError, …) so the CLI can map them to one clear line and an exit code.
 * `code` is a stable machine-readable identifier; `hint` says what to do about it.
 */
export class JitError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

/** True for errors that carry a user-facing message (as opposed to bugs). */
export function isJitError(error: unknown): error is JitError {
  return error instanceof JitError;
}
