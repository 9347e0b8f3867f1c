import { randomBytes } from 'node:crypto';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { errno, errorText } from './fs-errors.js';
import { AuditError } from './record.js';

/** A held `<file>.lock`; `release` removes it if it is still ours. */
export interface FileLock {
  readonly path: string;
  release(): Promise<void>;
}

/**
 * Takes `<target>.lock` exclusively. The lock file holds the owner's pid and appears atomically
 * (written under a temporary name, then `link`ed — which fails with EEXIST when it exists — so
 * nobody ever reads a half-written lock). A lock whose pid is not running (same host) is stale
 * and taken over; a live one → AuditError('locked') naming the pid.
 *
 * Limits: pids are only meaningful on this host, and two processes taking over the same stale
 * lock at the same instant can race. The lock guards against two jit sessions writing one file
 * by accident, not against a hostile local process.
 */
export async function acquireLock(target: string): Promise<FileLock> {
  const path = `${target}.lock`;
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(temp, `${process.pid}\n`, { mode: 0o600, flag: 'wx' }).catch((error: unknown) => {
    throw new AuditError('open_failed', `cannot create the audit lock ${path}: ${errorText(error)}`, {
      cause: error,
    });
  });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(temp, path);
        return { path, release: () => releaseLock(path) };
      } catch (error) {
        if (errno(error) !== 'EEXIST') {
          throw new AuditError('open_failed', `cannot take the audit lock ${path}: ${errorText(error)}`, {
            cause: error,
          });
        }
      }
      const holder = await readPid(path);
      if (holder !== undefined && isAlive(holder)) {
        throw new AuditError('locked', `audit log ${target} is in use by process ${holder} (lock ${path})`, {
          hint: `another jit session is writing it; if process ${holder} is not jit, remove ${path}`,
        });
      }
      // Stale (the owner is gone) or gone already: remove and try again.
      await unlink(path).catch((error: unknown) => {
        if (errno(error) !== 'ENOENT') throw error;
      });
    }
    throw new AuditError('locked', `audit log ${target} is locked (lock ${path} keeps reappearing)`);
  } finally {
    await unlink(temp).catch(() => {});
  }
}

/** The pid of a running process that holds `<target>.lock` (a session writing the file), if any. */
export async function lockHolder(target: string): Promise<number | undefined> {
  const pid = await readPid(`${target}.lock`);
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

async function releaseLock(path: string): Promise<void> {
  // Only remove the lock if it is still ours (a takeover after we were presumed dead is theirs).
  if ((await readPid(path)) === process.pid) await unlink(path).catch(() => {});
}

async function readPid(path: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(path, 'utf8')).trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Signal 0 probes a pid: ESRCH means gone; EPERM means alive but not ours. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errno(error) === 'EPERM';
  }
}
