import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { JitError } from '../util/errors.js';

/** Problems with the control socket: its directory, connecting, pairing. */
export class ControlError extends JitError {}

/**
 * Where running sessions' control sockets live: `$JIT_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/jit`,
 * else `<tmpdir>/jit-<uid>`. Only this user may enter it (0700).
 */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.JIT_RUNTIME_DIR) return env.JIT_RUNTIME_DIR;
  if (env.XDG_RUNTIME_DIR && path.isAbsolute(env.XDG_RUNTIME_DIR))
    return path.join(env.XDG_RUNTIME_DIR, 'jit');
  const uid = typeof process.getuid === 'function' ? process.getuid() : os.userInfo().username;
  return path.join(os.tmpdir(), `jit-${uid}`);
}

/**
 * Creates the runtime directory (0700) or checks an existing one: it must be a real directory,
 * owned by this user and closed to others — otherwise someone else could plant or watch sockets.
 */
export async function ensureRuntimeDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await lstat(dir);
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (!info.isDirectory() || (uid !== undefined && info.uid !== uid) || (info.mode & 0o077) !== 0) {
    throw new ControlError(
      'runtime_dir_unsafe',
      `${dir} is not a private directory of this user (mode ${(info.mode & 0o777).toString(8)})`,
      { hint: `remove it or run \`chmod 700 ${dir}\` (JIT_RUNTIME_DIR picks another place)` },
    );
  }
}

/** The socket path of a session. */
export function socketPath(dir: string, session: string): string {
  return path.join(dir, `${session}.sock`);
}

/** Sockets of sessions that may be running, newest first. */
export async function listSockets(dir: string): Promise<string[]> {
  return (await socketFiles(dir)).map((s) => s.file);
}

async function socketFiles(dir: string): Promise<{ file: string; mtime: number }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const sockets: { file: string; mtime: number }[] = [];
  for (const name of names) {
    if (!name.endsWith('.sock')) continue;
    const file = path.join(dir, name);
    try {
      const info = await lstat(file);
      if (info.isSocket()) sockets.push({ file, mtime: info.mtimeMs });
    } catch {
      // Gone in between.
    }
  }
  return sockets.sort((a, b) => b.mtime - a.mtime);
}

/**
 * Sockets of running sessions, newest first. A socket nobody listens on (its session was killed
 * before it could remove it) refuses connections: it is not listed, and once it is a minute old
 * (so never one whose session is just starting to listen) it is removed.
 */
export async function liveSockets(dir: string): Promise<string[]> {
  const sockets = await socketFiles(dir);
  const alive = await Promise.all(sockets.map((s) => listening(s.file)));
  const staleBefore = Date.now() - 60_000;
  await Promise.all(
    sockets
      .filter((s, i) => alive[i] === false && s.mtime < staleBefore)
      .map((s) => rm(s.file, { force: true }).catch(() => {})),
  );
  return sockets.filter((_, i) => alive[i] !== false).map((s) => s.file);
}

/** true: a session accepted a connection; false: refused (stale); undefined: could not tell. */
function listening(file: string): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(file);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, 2000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code === 'ECONNREFUSED' || error.code === 'ENOENT' ? false : undefined);
    });
  });
}
