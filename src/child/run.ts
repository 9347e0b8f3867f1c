import { constants } from 'node:os';
import { execa } from 'execa';
import { JitError } from '../util/errors.js';

/** The child could not be started at all. */
export class ChildError extends JitError {}

/** Signals jit passes on to the child (SIGINT only when it cannot have come from the terminal). */
const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGQUIT'];

/** Exit code of a process killed by `signal`, the shell convention 128 + N. */
export function signalExitCode(signal: string): number {
  const number = (constants.signals as Record<string, number>)[signal];
  return 128 + (number ?? 1);
}

/**
 * Runs the child with stdio inherited and exactly `env` (nothing inherited beyond it),
 * forwards signals, and resolves with its exit code (128+N when killed by signal N).
 */
export async function runChild(
  command: string,
  args: string[],
  env: Record<string, string>,
  options: {
    signal?: AbortSignal;
    onSpawn?: (pid: number) => void;
    /** A file for stdout and stderr (appended to), with no stdin; default: stdio inherited. */
    output?: string;
  } = {},
): Promise<number> {
  const subprocess = execa(command, args, {
    env,
    extendEnv: false,
    ...(options.output
      ? {
          stdin: 'ignore' as const,
          stdout: { file: options.output, append: true },
          stderr: { file: options.output, append: true },
        }
      : { stdio: 'inherit' as const }),
    reject: false,
    windowsHide: true,
    ...(options.signal ? { cancelSignal: options.signal, forceKillAfterDelay: 5000 } : {}),
  });
  if (subprocess.pid !== undefined) options.onSpawn?.(subprocess.pid);
  const interactive = process.stdin.isTTY === true;
  const forward = (signal: NodeJS.Signals) => {
    // Ctrl-C at a terminal already reached the child through the process group.
    if (signal === 'SIGINT' && interactive) return;
    subprocess.kill(signal);
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  try {
    const result = await subprocess;
    if (result.failed && result.exitCode === undefined && !result.signal) {
      const code = (result.cause as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'ENOENT') {
        throw new ChildError('command_not_found', `command not found: ${command}`, {
          hint: 'check the command after `--` and your PATH',
        });
      }
      throw new ChildError('spawn_failed', `could not start ${command}: ${result.shortMessage}`);
    }
    if (result.signal) return signalExitCode(result.signal);
    return result.exitCode ?? 1;
  } finally {
    for (const signal of FORWARDED) process.removeListener(signal, forward);
  }
}
