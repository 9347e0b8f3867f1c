import { completionScript } from '../cli/completion-scripts.js';
import { isShell, SHELLS } from '../cli/completion-shells.js';
import { buildProgram } from '../cli/program.js';
import { JitError } from '../util/errors.js';

/** A shell jit has no completion script for. */
export class CompletionError extends JitError {}

/** Where command output goes (injected by tests). */
export interface Output {
  write(text: string): unknown;
}

/** `jit completion SHELL`: the script, generated from the same tree the committed files come from. */
export async function completionCommand(shell: string, out: Output = process.stdout): Promise<number> {
  if (!isShell(shell)) {
    throw new CompletionError(
      'unknown_shell',
      `\`jit completion\` knows ${SHELLS.join(', ')}; not ${JSON.stringify(shell)}`,
    );
  }
  out.write(completionScript(shell, buildProgram()));
  return 0;
}
