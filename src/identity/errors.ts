import { JitError } from '../util/errors.js';

/** Login, token storage and token verification problems; `code` is stable, `hint` says what to do. */
export class IdentityError extends JitError {}
