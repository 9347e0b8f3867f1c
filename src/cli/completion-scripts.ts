import type { Command } from 'commander';
import { bashScript } from './completion-bash.js';
import { fishScript } from './completion-fish.js';
import { COMPLETION_FILES, SHELLS, type Shell } from './completion-shells.js';
import { completionSpec } from './completion-spec.js';
import { zshScript } from './completion-zsh.js';

/** The completion script for `shell`, generated from the command tree `program`. */
export function completionScript(shell: Shell, program: Command): string {
  const spec = completionSpec(program);
  switch (shell) {
    case 'bash':
      return bashScript(spec);
    case 'zsh':
      return zshScript(spec);
    case 'fish':
      return fishScript(spec);
    default:
      throw new Error(`no completion script for ${String(shell)}`);
  }
}

/** Every committed completion file: its name under `completions/` and its generated text. */
export function completionFiles(program: Command): { file: string; text: string }[] {
  return SHELLS.map((shell) => ({ file: COMPLETION_FILES[shell], text: completionScript(shell, program) }));
}
