import { JitError } from '../util/errors.js';

/** Something in `jit demo` itself failed (embedded server, sample data, the final check). */
export class DemoError extends JitError {}
