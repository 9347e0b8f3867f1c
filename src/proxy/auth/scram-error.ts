import { JitError } from '../../util/errors.js';

/** Stable codes of ScramError, one per way an exchange can fail. */
export type ScramErrorCode =
  | 'bad_message'
  | 'bad_password'
  | 'bad_server_signature'
  | 'bad_nonce'
  | 'unsupported_mechanism'
  | 'channel_binding';

/** Raised when a SCRAM exchange fails: malformed message, wrong password, forged server, no usable mechanism. */
export class ScramError extends JitError {
  declare readonly code: ScramErrorCode;

  constructor(code: ScramErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, options);
  }
}
