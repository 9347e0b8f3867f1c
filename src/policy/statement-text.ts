import { scanSync, type ScanToken } from 'libpg-query';
import type { SourceText } from './parse.js';

/** Words a nested statement of each node type starts with (besides `WITH`). */
const FIRST_WORDS: Readonly<Record<string, readonly string[]>> = {
  SelectStmt: ['SELECT', 'VALUES', 'TABLE'],
  InsertStmt: ['INSERT'],
  UpdateStmt: ['UPDATE'],
  DeleteStmt: ['DELETE'],
  MergeStmt: ['MERGE'],
};

/** Lazily scanned tokens of one SQL text, for finding where nested statements begin and end. */
export class StatementLocator {
  #tokens: ScanToken[] | null | undefined;

  constructor(private readonly source: SourceText) {}

  private tokens(): ScanToken[] | null {
    if (this.#tokens === undefined) {
      try {
        this.#tokens = scanSync(this.source.text).tokens;
      } catch {
        this.#tokens = null;
      }
    }
    return this.#tokens;
  }

  /**
   * The source text of a statement nested in the top-level statement spanning bytes
   * [`start`, `end`): from its first word (found backwards from the first position inside it)
   * to the `)` that closes its parentheses, a `;` or the end of the enclosing statement.
   * Falls back to the enclosing statement's text when the scanner cannot help.
   */
  nestedText(
    type: string,
    hasWith: boolean,
    firstWord: string,
    minLocation: number | undefined,
    start: number,
    end: number,
  ): string {
    const whole = this.source.slice(start, end).trim();
    const tokens = this.tokens();
    if (!tokens || minLocation === undefined) return whole;
    let at = firstEndingAfter(tokens, minLocation);
    if (at === tokens.length) return whole;
    const words = hasWith ? ['WITH'] : (FIRST_WORDS[type] ?? [firstWord]);
    for (let i = at; i >= 0 && (tokens[i] as ScanToken).start >= start; i--) {
      if (words.includes((tokens[i] as ScanToken).text.toUpperCase())) {
        at = i;
        break;
      }
    }
    const first = tokens[at] as ScanToken;
    let last = first;
    let depth = 0;
    for (let i = at; i < tokens.length; i++) {
      const token = tokens[i] as ScanToken;
      if (token.start >= end) break;
      if (token.text === '(') depth++;
      else if (token.text === ')') {
        if (depth === 0) break;
        depth--;
      } else if (token.text === ';' && depth === 0) break;
      last = token;
    }
    return this.source.slice(first.start, last.end).trim() || whole;
  }
}

/** Index of the first token ending after `byte` (binary search; tokens are in order). */
function firstEndingAfter(tokens: ScanToken[], byte: number): number {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((tokens[mid] as ScanToken).end > byte) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
