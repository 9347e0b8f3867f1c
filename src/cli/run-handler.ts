import { reportError } from './report-error.js';

/** Runs a command handler and turns its result or error into the process exit code. */
export async function runHandler(handler: () => Promise<number | void>): Promise<void> {
  try {
    const code = await handler();
    process.exitCode = code ?? 0;
  } catch (error) {
    process.exitCode = reportError(error);
  }
}
