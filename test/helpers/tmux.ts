import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

/**
 * A program under a real pseudo-terminal: a tmux session on a private server (`-L`), driven with
 * send-keys and read with capture-pane (the screen as a person sees it).
 */
export class TmuxPane {
  private constructor(
    private readonly server: string,
    readonly name: string,
    private readonly exitFile: string,
  ) {}

  /**
   * Starts `command` (argv) with exactly `env` in a new detached session of `width`×`height`. The
   * exit code is written to `<dir>/<name>.exit` when the command ends; the pane then stays.
   */
  static async start(
    dir: string,
    command: string[],
    env: Record<string, string>,
    size: { width: number; height: number } = { width: 120, height: 30 },
  ): Promise<TmuxPane> {
    const name = `jit-${randomBytes(4).toString('hex')}`;
    const script = path.join(dir, `${name}.sh`);
    const exports = Object.entries(env)
      .filter(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
      .map(([k, v]) => `export ${k}=${shellQuote(v)}`);
    await writeFile(
      script,
      [
        '#!/bin/sh',
        // Only what the test gives: nothing of tmux's own environment leaks in.
        'for v in $(env | cut -d= -f1); do case "$v" in PATH|HOME) ;; *) unset "$v" 2>/dev/null ;; esac; done',
        ...exports,
        'export TERM=xterm-256color',
        command.map(shellQuote).join(' '),
        `echo $? > ${shellQuote(path.join(dir, `${name}.exit`))}`,
        'sleep 600',
        '',
      ].join('\n'),
      { mode: 0o700 },
    );
    const server = `jit-test-${process.pid}`;
    await execa('tmux', [
      '-L',
      server,
      '-f',
      '/dev/null',
      'new-session',
      '-d',
      '-s',
      name,
      '-x',
      String(size.width),
      '-y',
      String(size.height),
      script,
    ]);
    return new TmuxPane(server, name, path.join(dir, `${name}.exit`));
  }

  /** The visible screen (plus `history` lines of scrollback). */
  async screen(history = 200): Promise<string> {
    const { stdout } = await execa('tmux', [
      '-L',
      this.server,
      'capture-pane',
      '-p',
      '-J',
      '-S',
      `-${history}`,
      '-t',
      this.name,
    ]);
    return stdout;
  }

  /** Waits until the screen matches; returns the match. Fails with the screen in the message. */
  async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const until = Date.now() + timeoutMs;
    let text = '';
    while (Date.now() < until) {
      text = await this.screen();
      const match = pattern.exec(text);
      if (match) return match;
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`screen never matched ${pattern}:\n${text}`);
  }

  /** Types text literally. */
  async type(text: string): Promise<void> {
    await execa('tmux', ['-L', this.server, 'send-keys', '-t', this.name, '-l', text]);
  }

  /** Sends key names (Enter, Escape, C-c, Up…). */
  async keys(...keys: string[]): Promise<void> {
    await execa('tmux', ['-L', this.server, 'send-keys', '-t', this.name, ...keys]);
  }

  /** The command's exit code, once it has ended. */
  async exitCode(timeoutMs = 20_000): Promise<number> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const text = await readFile(this.exitFile, 'utf8').catch(() => '');
      if (text.trim() !== '') return Number(text.trim());
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`the command in ${this.name} did not end:\n${await this.screen()}`);
  }

  async kill(): Promise<void> {
    await execa('tmux', ['-L', this.server, 'kill-session', '-t', this.name], { reject: false });
  }
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
