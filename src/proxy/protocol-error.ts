import { JitError } from '../util/errors.js';

/** A peer broke the PostgreSQL wire protocol (bad length, unknown startup code, truncated field). */
export class ProtocolError extends JitError {}
