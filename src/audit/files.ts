import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { errno, errorText } from './fs-errors.js';
import { AuditError } from './record.js';

/** Audit files named by a FILE or DIR argument. */
export interface AuditFiles {
  /** The directory when the argument was one (to notice new session files while following). */
  dir: string | undefined;
  /** Files in name order, which is start-time order (`sessionAuditPath`). */
  files: string[];
}

/**
 * Resolves what the user pointed at: a file is itself; a directory is its `*.jsonl` files in
 * name order. A missing path → AuditError('not_found').
 */
export async function resolveAuditFiles(where: string): Promise<AuditFiles> {
  let isDir: boolean;
  try {
    isDir = (await stat(where)).isDirectory();
  } catch (error) {
    if (errno(error) === 'ENOENT') {
      throw new AuditError('not_found', `no audit log at ${where}`);
    }
    throw new AuditError('unreadable', `cannot read ${where}: ${errorText(error)}`, { cause: error });
  }
  if (!isDir) return { dir: undefined, files: [where] };
  return { dir: where, files: await listAuditFiles(where) };
}

/** The `*.jsonl` files directly in `dir`, in name order. */
export async function listAuditFiles(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && e.name.endsWith('.jsonl'))
      .map((e) => e.name)
      .sort()
      .map((name) => path.join(dir, name));
  } catch (error) {
    throw new AuditError('unreadable', `cannot list ${dir}: ${errorText(error)}`, { cause: error });
  }
}
