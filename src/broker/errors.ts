import { JitError } from '../util/errors.js';

/** HTTP statuses the broker answers errors with (see api.ts). */
export type ApiStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 429 | 500 | 502 | 503;

/**
 * An error the broker's API answers with: `status`, a stable `code` and a one-line message that is
 * safe to show the caller (never a secret, never an internal exception's text).
 */
export class ApiError extends JitError {
  constructor(
    readonly status: ApiStatus,
    code: string,
    message: string,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(code, message, options);
  }
}

/** Raised while starting the broker: bad config, unreachable state database, failed migration. */
export class BrokerStartError extends JitError {}
