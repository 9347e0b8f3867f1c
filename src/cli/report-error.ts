import { isJitError } from '../util/errors.js';

/** Writes one clear line (plus a hint) for an error; the stack only with DEBUG=jit. Returns the exit code. */
export function reportError(error: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  const debug = /(^|,)\s*jit\b/.test(process.env.DEBUG ?? '');
  if (isJitError(error)) {
    stderr.write(`jit: ${error.message}\n`);
    if (error.hint) stderr.write(`  hint: ${error.hint}\n`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    stderr.write(`jit: unexpected error: ${message}\n`);
    if (!debug) stderr.write('  hint: run again with DEBUG=jit for details, and report it if it persists\n');
  }
  if (debug && error instanceof Error && error.stack) stderr.write(`${error.stack}\n`);
  return 1;
}
