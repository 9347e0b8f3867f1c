import { Argument, type Command } from 'commander';
import { SHELLS } from './completion-shells.js';
import { runHandler } from './run-handler.js';

/** `jit completion bash|zsh|fish`. */
export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print the shell completion script for bash, zsh or fish')
    .addArgument(
      // The choices feed the completion scripts; the handler (not commander) refuses other shells,
      // so the error is one line.
      new Argument('<shell>', 'bash, zsh or fish').choices(SHELLS).argParser((shell: string) => shell),
    )
    .addHelpText(
      'after',
      `
The script is generated from jit's command tree; the same files ship in the package's
completions/ directory. Install it once, then open a new shell:

  bash   $ mkdir -p ~/.local/share/bash-completion/completions
         $ jit completion bash > ~/.local/share/bash-completion/completions/jit
         (needs the bash-completion package; without it add to ~/.bashrc:
          source <(jit completion bash))
  zsh    $ mkdir -p ~/.zfunc && jit completion zsh > ~/.zfunc/_jit
         and in ~/.zshrc, before compinit (or oh-my-zsh) runs: fpath=(~/.zfunc $fpath)
  fish   $ jit completion fish > ~/.config/fish/completions/jit.fish

Examples:
  $ jit completion bash > ~/.local/share/bash-completion/completions/jit
  $ source <(jit completion zsh)`,
    )
    .action((shell: string) =>
      runHandler(async () => (await import('../handlers/completion.js')).completionCommand(shell)),
    );
}
