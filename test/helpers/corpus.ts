import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * PostgreSQL's regression statements (shared/corpus/pg-regress). shared/ sits beside the
 * repository, as in CI; JIT_CORPUS_DIR overrides. A missing corpus fails the test, never skips it.
 */
export const CORPUS_DIR = (() => {
  const candidates = [
    process.env.JIT_CORPUS_DIR,
    fileURLToPath(new URL('../../../shared/corpus/pg-regress', import.meta.url)),
    '/work/shared/corpus/pg-regress',
  ].filter((c): c is string => typeof c === 'string' && c.length > 0);
  const found = candidates.find((c) => existsSync(c));
  if (!found)
    throw new Error(`the SQL corpus is missing; looked in ${candidates.join(', ')} (set JIT_CORPUS_DIR)`);
  return found;
})();
