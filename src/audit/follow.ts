import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { errno, errorText } from './fs-errors.js';
import { listAuditFiles } from './files.js';
import { readLines } from './read.js';
import { AuditError, parseRecordLine, type AuditRecord } from './record.js';

/** How far a reader has got in a file: the byte after the last complete line, and its number. */
export interface FilePosition {
  offset: number;
  lineCount: number;
}

/**
 * Reads the complete lines from `at` to the current end of the file, handing each record to
 * `onRecord`; returns the new position. A trailing partial line (a writer mid-write) is left
 * for the next read. A line that is not a record → AuditError naming file and line.
 */
export async function readNewRecords(
  file: string,
  at: FilePosition,
  onRecord: (record: AuditRecord, text: string) => void,
): Promise<FilePosition> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (error) {
    if (errno(error) === 'ENOENT') throw new AuditError('not_found', `no audit log at ${file}`);
    throw new AuditError('unreadable', `cannot read the audit log ${file}: ${errorText(error)}`, {
      cause: error,
    });
  }
  // Smaller than before: the file was replaced; start over.
  let position = size < at.offset ? { offset: 0, lineCount: 0 } : at;
  for await (const { line, text, complete, end } of readLines(file, {
    start: position.offset,
    end: size,
    firstLine: position.lineCount + 1,
  })) {
    if (!complete) break;
    onRecord(recordOf(file, line, text), text as string);
    position = { offset: end, lineCount: line };
  }
  return position;
}

/** Parses a line; a bad one → AuditError naming file and line. */
export function recordOf(file: string, line: number, text: string | undefined): AuditRecord {
  const parsed = text === undefined ? { error: 'not valid UTF-8' } : parseRecordLine(text);
  if (parsed.record) return parsed.record;
  throw new AuditError('unreadable', `${file}:${line}: ${parsed.error}`, {
    hint: `run \`jit audit verify ${file}\``,
  });
}

/**
 * Polls the files in `positions` (and, when `dir` is given, new `*.jsonl` files appearing in
 * it, read from their start) every `intervalMs`, handing each new complete record to
 * `onRecord`, until `signal` aborts. Polling rather than fs.watch: it behaves the same on
 * every platform and filesystem, and a quarter second is quick enough for a person.
 */
export async function follow(options: {
  dir: string | undefined;
  positions: Map<string, FilePosition>;
  onRecord: (record: AuditRecord, text: string) => void;
  signal: AbortSignal;
  /** Files in `dir` to leave alone. */
  skip?: (file: string) => boolean;
  intervalMs?: number;
}): Promise<void> {
  const { dir, positions, onRecord, signal } = options;
  while (!signal.aborted) {
    try {
      await sleep(options.intervalMs ?? 250, undefined, { signal });
    } catch {
      return; // aborted
    }
    const files = dir ? await listAuditFiles(dir) : [...positions.keys()];
    for (const file of files) {
      if (options.skip?.(file)) continue;
      const at = positions.get(file) ?? { offset: 0, lineCount: 0 };
      try {
        positions.set(file, await readNewRecords(file, at, onRecord));
      } catch (error) {
        // A session file removed between listing and reading is simply gone.
        if (dir && error instanceof AuditError && error.code === 'not_found') continue;
        throw error;
      }
    }
  }
}
