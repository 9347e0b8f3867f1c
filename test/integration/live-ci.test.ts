import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { withClient } from '../helpers/db.js';
import { createTarget, runJit, type TestTarget } from '../helpers/jit.js';

const adminUrl = inject('adminUrl');
let target: TestTarget;
let work: string;

beforeAll(async () => {
  target = await createTarget(adminUrl);
  work = await mkdtemp(path.join(tmpdir(), 'jit-live-ci-'));
});

afterAll(async () => {
  await target?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

/**
 * A child that runs an allowed SELECT, a blocked DROP and a held (unbounded) UPDATE. Its own
 * stderr goes to its stdout, so jit's stderr holds only jit's output.
 */
const SCRIPT = `{ ${[
  'psql -XAtc "SELECT count(*) FROM customers"',
  'psql -XAtc "DROP TABLE customers" || true',
  'psql -XAtc "UPDATE customers SET name = name" || true',
  'psql -XAtc "SELECT email FROM customers WHERE id = 1"',
].join('; ')}; } 2>&1`;

function parseLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function names(): Promise<string[]> {
  return withClient(target.adminUrl, async (c) => {
    const { rows } = await c.query<{ name: string }>('SELECT name FROM customers WHERE id <= 3 ORDER BY id');
    return rows.map((r) => r.name);
  });
}

describe('jit run in CI mode', () => {
  it('prints one parseable JSON event per line on stderr, denies held statements, and ends with a summary', async () => {
    const before = await names();
    const summaryFile = path.join(work, 'step-summary.md');
    await writeFile(summaryFile, '# earlier step\n');
    const result = await runJit(['run', '--config', target.configPath, '--ci', '--', 'sh', '-c', SCRIPT], {
      env: { ...target.env, GITHUB_STEP_SUMMARY: summaryFile },
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('ERROR:  jit: DROP TABLE is blocked by rule no-drop');
    const events = parseLines(result.stderr);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('session');
    expect(types.at(-2)).toBe('ended');
    expect(types.at(-1)).toBe('summary');
    for (const e of events) expect(typeof e.ts).toBe('string');
    const statements = events.filter((e) => e.type === 'statement');
    expect(statements.map((e) => e.decision)).toEqual(['allowed', 'blocked', 'denied', 'allowed']);
    expect(statements[1]).toMatchObject({ rule: 'no-drop', sql: 'DROP TABLE customers' });
    expect(statements[2]).toMatchObject({ rule: 'unbounded-write', approver: 'unattended' });
    expect(statements[3]).toMatchObject({ masked: ['public.customers.email'] });
    expect(events.at(-1)).toMatchObject({
      type: 'summary',
      statements: 4,
      allowed: 2,
      blocked: 1,
      held: 1,
      approved: 0,
      denied: 1,
      masked: 1,
      maskedColumns: ['public.customers.email'],
      rules: { 'no-drop': 1, 'unbounded-write': 1 },
    });
    expect(await names()).toEqual(before);

    const markdown = await readFile(summaryFile, 'utf8');
    expect(markdown.startsWith('# earlier step\n')).toBe(true);
    expect(markdown).toMatch(/### jit session `[0-9a-f]{12}`/);
    expect(markdown).toContain('| Statements | 4 |');
    expect(markdown).toContain('| Blocked | 1 |');
    expect(markdown).toContain('| Held | 1 (0 approved, 1 denied) |');
    expect(markdown).toContain('| Masked | 1 statements (`public.customers.email`) |');
    expect(markdown).toContain('`no-drop` × 1');
  });

  it('CI=true means CI mode too; --events FILE keeps stderr for people; --fail-on-block fails the step', async () => {
    const eventsFile = path.join(work, 'events.jsonl');
    const result = await runJit(
      [
        'run',
        '--config',
        target.configPath,
        '--events',
        eventsFile,
        '--fail-on-block',
        '--',
        'sh',
        '-c',
        SCRIPT,
      ],
      { env: { ...target.env, CI: 'true' } },
    );
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('jit: summary: 4 statements, 1 blocked, 1 held (0 approved, 1 denied)');
    expect(result.stderr).toContain('jit: --fail-on-block: 1 statement(s) blocked and 1 denied; failing');
    const events = parseLines(await readFile(eventsFile, 'utf8'));
    expect(events.filter((e) => e.type === 'statement')).toHaveLength(4);
    expect(events.at(-1)).toMatchObject({ type: 'summary', blocked: 1 });
  });

  it('the child exit code wins over --fail-on-block, and a clean run passes', async () => {
    const failing = await runJit(
      ['run', '--config', target.configPath, '--ci', '--fail-on-block', '--', 'sh', '-c', 'exit 3'],
      {
        env: target.env,
      },
    );
    expect(failing.exitCode).toBe(3);
    const clean = await runJit(
      ['run', '--config', target.configPath, '--ci', '--fail-on-block', '--', 'psql', '-XAtc', 'SELECT 1'],
      { env: target.env },
    );
    expect(clean.exitCode, clean.stderr).toBe(0);
  });
});
