import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { WatchCommandOptions } from '../cli/watch.js';
import { connectControl, type ControlConnection } from '../control/client.js';
import { ControlError, liveSockets, runtimeDir } from '../control/paths.js';
import { eventLine } from '../live/report.js';

/** `jit watch`: pair with a running session and show its live view (or its events as JSON). */
export async function watchCommand(options: WatchCommandOptions): Promise<number> {
  const dir = runtimeDir();
  const socket = await pickSocket(dir, options.session);
  const code = await readCode();
  const who = `jit watch (${osUser()}, pid ${process.pid})`;
  const connection = await connectControl(socket, code, who);
  if (options.json || !process.stdout.isTTY) return printEvents(connection);
  const { startTui } = await import('../tui/render.js');
  const tui = startTui(connection, {
    stdout: process.stdout,
    color: options.color !== false && !process.env.NO_COLOR,
    onQuit: () => connection.close(),
  });
  await connection.closed;
  // Let the last batch (the session's end) render before the view closes.
  await new Promise((resolve) => setTimeout(resolve, 200));
  tui.stop();
  return 0;
}

async function printEvents(connection: ControlConnection): Promise<number> {
  const write = (events: ReturnType<ControlConnection['snapshot']>) =>
    process.stdout.write(events.map(eventLine).join(''));
  write(connection.snapshot());
  connection.subscribe(write);
  await connection.closed;
  return 0;
}

/** The session's socket: `--session` (an id or its prefix), or the only one running. */
async function pickSocket(dir: string, session: string | undefined): Promise<string> {
  const sockets = await liveSockets(dir);
  const ids = sockets.map((file) => path.basename(file, '.sock'));
  if (sockets.length === 0) {
    throw new ControlError('no_sessions', `no running jit session of this user (looked in ${dir})`, {
      hint: 'start one with `jit run` or `jit proxy` (JIT_RUNTIME_DIR must match if you set it)',
    });
  }
  if (session !== undefined) {
    const matches = sockets.filter((_, i) => ids[i]?.startsWith(session));
    if (matches.length === 1 && matches[0]) return matches[0];
    throw new ControlError(
      'no_such_session',
      matches.length === 0 ? `no running session ${session}` : `${session} matches several sessions`,
      { hint: `running: ${ids.join(', ')}` },
    );
  }
  if (sockets.length > 1) {
    throw new ControlError(
      'several_sessions',
      `${sockets.length} jit sessions are running: pick one with --session`,
      {
        hint: `running (newest first): ${ids.join(', ')}`,
      },
    );
  }
  return sockets[0] as string;
}

/** The pairing code: asked on the terminal, or the first line of stdin. */
async function readCode(): Promise<string> {
  const rl = createInterface({
    input: process.stdin,
    output: process.stdin.isTTY ? process.stderr : undefined,
  });
  try {
    const line = await new Promise<string | undefined>((resolve) => {
      rl.once('close', () => resolve(undefined));
      if (process.stdin.isTTY) rl.question('Pairing code (shown where jit run/proxy started): ', resolve);
      else rl.once('line', resolve);
    });
    const code = line?.trim() ?? '';
    if (!code) {
      throw new ControlError('no_code', 'no pairing code given', {
        hint: 'enter the code `jit run`/`jit proxy` printed on its terminal',
      });
    }
    return code;
  } finally {
    rl.close();
  }
}

function osUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'user';
  }
}
