import { loadModule, parseSync, type ParseResult } from 'libpg-query';
import { JitError } from '../util/errors.js';

/** Any problem with a policy: an invalid policy file, or the SQL parser not being usable. */
export class PolicyError extends JitError {}

let loading: Promise<void> | undefined;

/**
 * Loads libpg-query's WASM module (the real PostgreSQL grammar). Idempotent; must resolve
 * before `classify` is called, since every parse after it is synchronous. The memo is the
 * WASM module's own process-wide state, not ours.
 */
export function initParser(): Promise<void> {
  loading ??= loadModule().catch((error: unknown) => {
    loading = undefined;
    throw new PolicyError('parser_unavailable', 'could not load the SQL parser (libpg-query WASM)', {
      cause: error,
    });
  });
  return loading;
}

/** The outcome of parsing one query string: its raw statements, or the grammar's error. */
export type ParseOutcome =
  | { ok: true; result: ParseResult }
  | {
      ok: false;
      message: string;
      /** 0-based character offset into the text, when known. */ position?: number;
    };

/**
 * Parses `sql` with PostgreSQL's grammar. Never throws. Texts the WASM parser would see
 * differently from the server are refused here: a NUL ends a C string, so `SELECT 1\0; DROP …`
 * would hide everything after the NUL from the parser.
 */
export function parseSql(sql: string): ParseOutcome {
  if (sql.includes('\0')) {
    return { ok: false, message: 'the statement contains a NUL character', position: sql.indexOf('\0') };
  }
  if (sql.trim() === '') return { ok: true, result: { version: 0, stmts: [] } };
  try {
    return { ok: true, result: parseSync(sql) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const cursor = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition;
    // libpg-query reports the cursor as a 0-based character offset already.
    if (typeof cursor === 'number' && cursor >= 0) return { ok: false, message, position: cursor };
    return { ok: false, message };
  }
}

/**
 * The SQL text with conversions between the parser's UTF-8 byte offsets (`location`,
 * `stmt_location`, scanner tokens) and JavaScript string offsets.
 */
export class SourceText {
  readonly text: string;
  readonly #ascii: boolean;
  #bytes: Buffer | undefined;

  constructor(text: string) {
    this.text = text;
    // eslint-disable-next-line no-control-regex
    this.#ascii = !/[^\x00-\x7f]/.test(text);
  }

  /** Length in UTF-8 bytes. */
  get byteLength(): number {
    return this.#ascii ? this.text.length : this.bytes().length;
  }

  /** The text between two byte offsets (end exclusive, clamped). */
  slice(startByte: number, endByte?: number): string {
    if (this.#ascii) return this.text.slice(startByte, endByte);
    return this.bytes().subarray(startByte, endByte).toString('utf8');
  }

  private bytes(): Buffer {
    this.#bytes ??= Buffer.from(this.text, 'utf8');
    return this.#bytes;
  }
}
