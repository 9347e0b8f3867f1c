/*
 * Writes the committed completion scripts, completions/jit.bash, completions/_jit and
 * completions/jit.fish, from the command tree: `node dist/cli/completion-write.js` (after a build).
 * With --check it writes nothing and exits 1 naming each file that is not current.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { completionFiles } from './completion-scripts.js';
import { buildProgram } from './program.js';

const dir = new URL('../../completions/', import.meta.url);
const check = process.argv.includes('--check');
let stale = 0;
for (const { file, text } of completionFiles(buildProgram())) {
  const url = new URL(file, dir);
  const current = await readFile(url, 'utf8').catch(() => undefined);
  if (current === text) continue;
  if (check) {
    stale += 1;
    process.stderr.write(`jit: completions/${file} is not current; run npm run completions\n`);
  } else {
    await writeFile(url, text);
    process.stdout.write(`wrote ${fileURLToPath(url)}\n`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
