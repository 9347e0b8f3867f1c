import { access } from 'node:fs/promises';
import { resolveAuditFiles } from './files.js';
import { lockHolder } from './lock.js';
import { unsentMarker } from './shipper.js';

/** Marked audit files (some records may not have reached the broker), split by whether a live session still writes them. */
export interface UnsentFiles {
  /** Ready to push: marked, and no live process holds their lock. */
  files: string[];
  /** Marked, but still being written by process `pid` (that session sends its own records). */
  busy: { file: string; pid: number }[];
}

/** Which of `candidates` carry an unsent marker, and whether a live session still writes each. */
export async function unsentAmong(candidates: string[]): Promise<UnsentFiles> {
  const files: string[] = [];
  const busy: { file: string; pid: number }[] = [];
  for (const file of candidates) {
    if (!(await exists(unsentMarker(file)))) continue;
    const pid = await lockHolder(file);
    if (pid === undefined) files.push(file);
    else busy.push({ file, pid });
  }
  return { files, busy };
}

/** The marked audit files of directory `dir` (none when it does not exist). */
export async function unsentIn(dir: string): Promise<UnsentFiles> {
  let candidates: string[];
  try {
    candidates = (await resolveAuditFiles(dir)).files;
  } catch {
    return { files: [], busy: [] };
  }
  return unsentAmong(candidates);
}

function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
