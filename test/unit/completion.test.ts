import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { completionFiles, completionScript } from '../../src/cli/completion-scripts.js';
import { COMPLETION_FILES, SHELLS } from '../../src/cli/completion-shells.js';
import { allCommands, completionSpec } from '../../src/cli/completion-spec.js';
import { buildProgram } from '../../src/cli/program.js';
import { CompletionError, completionCommand } from '../../src/handlers/completion.js';

const COMPLETIONS = fileURLToPath(new URL('../../completions/', import.meta.url));
const BASH_FILE = path.join(COMPLETIONS, COMPLETION_FILES.bash);

/** Whether `shell` can be started here (zsh and fish are optional on CI machines). */
function has(shell: string): boolean {
  return spawnSync(shell, ['--version'], { stdio: 'ignore' }).error === undefined;
}

describe('committed completion files', () => {
  it('are what the command tree generates now (run `npm run completions` after changing a command)', async () => {
    const stale: string[] = [];
    for (const { file, text } of completionFiles(buildProgram())) {
      const committed = await readFile(path.join(COMPLETIONS, file), 'utf8').catch(() => '(missing)');
      if (committed !== text) stale.push(`completions/${file}`);
    }
    expect(stale).toEqual([]);
  });

  it('would go stale when a command is added, so the check above can fail', () => {
    const before = completionFiles(buildProgram());
    const program = buildProgram();
    program.command('zz-new').option('--zz-flag <file>', 'a new option');
    const after = completionFiles(program);
    for (const [index, { file, text }] of after.entries()) {
      expect(text, file).not.toBe(before[index]?.text);
      expect(text, file).toContain('zz-new');
      expect(text, file).toContain('zz-flag');
    }
  });

  it('pass `bash -n`', () => {
    const result = spawnSync('bash', ['-n', BASH_FILE], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it.skipIf(!has('zsh'))('pass `zsh -n`', () => {
    const result = spawnSync('zsh', ['-n', path.join(COMPLETIONS, COMPLETION_FILES.zsh)], {
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it.skipIf(!has('fish'))('pass `fish -n`', () => {
    const result = spawnSync('fish', ['-n', path.join(COMPLETIONS, COMPLETION_FILES.fish)], {
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('the spec read from the command tree', () => {
  const spec = completionSpec(buildProgram());
  const find = (names: string): ReturnType<typeof allCommands>[number] | undefined =>
    allCommands(spec).find((c) => c.path.join(' ') === `jit ${names}`);

  it('has the subcommands, long and short options, and value hints', () => {
    expect(find('audit')?.commands.map((c) => c.name)).toEqual([
      'verify',
      'show',
      'tail',
      'export',
      'push',
      'help',
    ]);
    expect(find('policy')?.commands.map((c) => c.name)).toEqual(['check', 'test', 'help']);
    expect(find('grants')?.commands.map((c) => c.name)).toEqual(['list', 'revoke', 'gc', 'help']);
    const run = find('run');
    const option = (long: string) => run?.options.find((o) => o.long === long);
    expect(option('--config')).toMatchObject({ short: '-c', value: { hint: { kind: 'config' } } });
    expect(option('--target')).toMatchObject({ short: '-t', value: { hint: { kind: 'target' } } });
    expect(option('--policy')?.value?.hint).toEqual({ kind: 'file' });
    expect(option('--audit-log')?.value?.hint).toEqual({ kind: 'file' });
    expect(option('--ttl')?.value?.hint).toEqual({ kind: 'none' });
    expect(option('--help')).toMatchObject({ short: '-h' });
    expect(run?.args).toEqual([
      { name: 'command', required: true, variadic: true, hint: { kind: 'command' } },
    ]);
    expect(find('login')?.options.find((o) => o.long === '--ca')?.value?.hint).toEqual({ kind: 'file' });
    expect(find('completion')?.args[0]?.hint).toEqual({ kind: 'choices', values: ['bash', 'zsh', 'fish'] });
    expect(find('audit help')?.args[0]?.hint).toEqual({
      kind: 'choices',
      values: ['verify', 'show', 'tail', 'export', 'push'],
    });
  });

  it('leaves out hidden commands and options', () => {
    const program = new Command('jit');
    program
      .command('visible')
      .option('--shown', 'shown')
      .addOption(new Option('--internal-x', 'x').hideHelp());
    program.command('secret-cmd', { hidden: true }).option('--y', 'y');
    const names = allCommands(completionSpec(program)).map((c) => c.path.join(' '));
    expect(names).toContain('jit visible');
    expect(names).not.toContain('jit secret-cmd');
    for (const shell of SHELLS) {
      const script = completionScript(shell, program);
      expect(script, shell).toContain('shown');
      expect(script, shell).not.toContain('internal-x');
      expect(script, shell).not.toContain('secret-cmd');
    }
  });

  it('refuses a name no script could embed safely', () => {
    const program = new Command('jit');
    program.command('ok').addOption(new Option('--mode <m>', 'm').choices(['a b']));
    expect(() => completionSpec(program)).toThrow(/a choice of option --mode <m> of jit ok is named "a b"/);
  });
});

describe('bash completion', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'jit-completion-'));
    await writeFile(
      path.join(dir, 'jit.yaml'),
      [
        'identity: os-user',
        'targets:',
        '  dev:',
        '    upstream: postgres://127.0.0.1:5432/app',
        '    grant: { roles: [app_rw] }',
        '  prod-eu:   # a comment',
        '    upstream: postgres://db.example.com/app',
        'broker: { url: https://jit.example.com }',
        '',
      ].join('\n'),
    );
    await writeFile(
      path.join(dir, 'other.yaml'),
      'targets:\n    staging:\n        upstream: postgres://h/x\n',
    );
    await writeFile(path.join(dir, 'policy.yaml'), 'rules: []\n');
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** COMPREPLY after sourcing the committed script and calling _jit with `words` (the last is the word at the cursor). */
  function complete(...words: string[]): string[] {
    const script = [
      `source ${JSON.stringify(BASH_FILE)}`,
      'COMP_WORDS=("$@")',
      'COMP_CWORD=$(($# - 1))',
      'COMP_LINE="$*"',
      'COMP_POINT=${#COMP_LINE}',
      '_jit',
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n');
    const result = spawnSync('bash', ['-c', script, 'bash', ...words], { cwd: dir, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    return result.stdout.split('\n').filter((line) => line !== '');
  }

  it('completes commands: jit au<TAB>', () => {
    expect(complete('jit', 'au')).toEqual(['audit']);
  });

  it('completes subcommands: jit audit <TAB>', () => {
    expect(complete('jit', 'audit', '')).toEqual(['verify', 'show', 'tail', 'export', 'push', 'help']);
    expect(complete('jit', 'policy', '')).toEqual(['check', 'test', 'help']);
    expect(complete('jit', 'grants', 'r')).toEqual(['revoke']);
  });

  it('completes options: jit run --ta<TAB>', () => {
    expect(complete('jit', 'run', '--ta')).toEqual(['--target']);
    expect(complete('jit', 'audit', 'tail', '-')).toEqual([
      '--audit-dir',
      '-n',
      '--lines',
      '-f',
      '--follow',
      '--json',
      '-h',
      '--help',
    ]);
    expect(complete('jit', 'approve', '--s')).toEqual(['--session']); // as jit watch, without a broker
  });

  it('completes target names from jit.yaml, or from the config given with -c', () => {
    expect(complete('jit', 'run', '--target', '')).toEqual(['dev', 'prod-eu']);
    expect(complete('jit', 'grants', 'list', '-t', 'p')).toEqual(['prod-eu']);
    expect(complete('jit', 'doctor', '-c', 'other.yaml', '-t', '')).toEqual(['staging']);
  });

  it('completes files, fixed choices and commands where those go', () => {
    expect(complete('jit', 'policy', 'check', 'po')).toEqual(['policy.yaml']);
    expect(complete('jit', 'run', '--policy', 'po')).toEqual(['policy.yaml']);
    expect(complete('jit', 'run', '--config', '=', 'oth')).toEqual(['other.yaml']); // --config=oth
    expect(complete('jit', 'completion', '')).toEqual(['bash', 'zsh', 'fish']);
    expect(complete('jit', 'help', 'do')).toEqual(['doctor']);
    expect(complete('jit', 'run', '--', 'bas')).toContain('bash');
    expect(complete('jit', 'run', '-t', 'dev', '--', 'cat', 'oth')).toEqual(['other.yaml']);
  });

  it('offers nothing for free text, and no subcommands after a positional argument', () => {
    expect(complete('jit', 'grants', 'revoke', '')).toEqual([]);
    expect(complete('jit', 'run', '--ttl', '')).toEqual([]);
    expect(complete('jit', 'completion', 'bash', '')).toEqual([]);
  });
});

describe('jit completion', () => {
  it('prints the same script as the committed file', async () => {
    for (const shell of SHELLS) {
      let printed = '';
      expect(await completionCommand(shell, { write: (text: string) => (printed += text) })).toBe(0);
      expect(printed).toBe(await readFile(path.join(COMPLETIONS, COMPLETION_FILES[shell]), 'utf8'));
    }
  });

  it('refuses an unknown shell with one error line and exit code 1', async () => {
    await expect(completionCommand('tcsh', { write: () => true })).rejects.toThrow(CompletionError);
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      await buildProgram().parseAsync(['completion', 'tcsh'], { from: 'user' });
    } finally {
      spy.mockRestore();
    }
    const exitCode = process.exitCode;
    process.exitCode = 0;
    expect(exitCode).toBe(1);
    expect(written.join('')).toBe('jit: `jit completion` knows bash, zsh, fish; not "tcsh"\n');
  });

  it('--help says how to install each script', async () => {
    const program = buildProgram();
    let help = '';
    const capture = (command: Command): void => {
      command.exitOverride().configureOutput({ writeOut: (text) => (help += text) });
      command.commands.forEach(capture);
    };
    capture(program);
    await expect(program.parseAsync(['completion', '--help'], { from: 'user' })).rejects.toThrow(
      CommanderError,
    );
    expect(help).toContain('jit completion bash > ~/.local/share/bash-completion/completions/jit');
    expect(help).toContain('fpath=(~/.zfunc $fpath)');
    expect(help).toContain('jit completion fish > ~/.config/fish/completions/jit.fish');
  });
});
