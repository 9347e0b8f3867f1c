import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * `mkdir -p` one level at a time. Node 20's `mkdir(…, { recursive: true })` never returns for a
 * path under /proc (it loops on ENOENT), which would hang jit on a bad `--audit-log`; creating
 * each missing level ourselves turns that into an ordinary ENOENT error.
 */
export async function makeDirs(dir: string, mode = 0o700): Promise<void> {
  const missing: string[] = [];
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    try {
      const info = await stat(current);
      if (!info.isDirectory()) {
        throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${current}'`), { code: 'ENOTDIR' });
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (path.dirname(current) === current) throw error;
      missing.push(current);
    }
  }
  for (const level of missing.reverse()) {
    try {
      await mkdir(level, { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
