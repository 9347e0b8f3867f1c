import os from 'node:os';
import path from 'node:path';
import { AuditError } from './record.js';

/**
 * Where audit files go by default: `JIT_AUDIT_DIR` when set; otherwise the platform's place for
 * application state/logs — `$XDG_STATE_HOME/jit/audit` or `~/.local/state/jit/audit` (Linux and
 * other Unixes, per the XDG Base Directory spec: a relative XDG_STATE_HOME is ignored),
 * `~/Library/Logs/jit/audit` (macOS), `%LOCALAPPDATA%\jit\audit` (Windows).
 */
export function defaultAuditDir(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): string {
  const override = env.JIT_AUDIT_DIR;
  if (override) return override;
  if (platform === 'win32') {
    const p = path.win32;
    const local = env.LOCALAPPDATA || p.join(env.USERPROFILE || os.homedir(), 'AppData', 'Local');
    return p.join(local, 'jit', 'audit');
  }
  const p = path.posix;
  const home = env.HOME || os.homedir();
  if (platform === 'darwin') return p.join(home, 'Library', 'Logs', 'jit', 'audit');
  const state =
    env.XDG_STATE_HOME && p.isAbsolute(env.XDG_STATE_HOME)
      ? env.XDG_STATE_HOME
      : p.join(home, '.local', 'state');
  return p.join(state, 'jit', 'audit');
}

const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * One file per session: `<dir>/<UTC yyyy-mm-ddTHH-MM-SS>-<session>.jsonl` (no colons, so the name
 * is valid on Windows; names sort in start order). The session id must be a plain token.
 */
export function sessionAuditPath(dir: string, session: string, startedAt: Date): string {
  if (!SESSION_ID.test(session)) {
    throw new AuditError('bad_session', `session id "${session}" cannot be part of an audit file name`);
  }
  const stamp = startedAt.toISOString().slice(0, 19).replaceAll(':', '-');
  return path.join(dir, `${stamp}-${session}.jsonl`);
}
