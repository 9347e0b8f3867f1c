import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { withClient } from '../helpers/db.js';
import { execa } from 'execa';
import { createTarget, JIT_BIN, type TestTarget } from '../helpers/jit.js';
import { TmuxPane } from '../helpers/tmux.js';
import { listSockets } from '../../src/control/paths.js';

const adminUrl = inject('adminUrl');
let target: TestTarget;
let work: string;
/** A private runtime dir, so these tests find only their own sessions. */
let runtime: string;
const panes: TmuxPane[] = [];

beforeAll(async () => {
  target = await createTarget(adminUrl);
  work = await mkdtemp(path.join(tmpdir(), 'jit-live-tty-'));
  runtime = path.join(work, 'run');
});

afterEach(async () => {
  for (const pane of panes.splice(0)) await pane.kill();
  // A session ends (role dropped, socket removed) a moment after its pane goes; under load that
  // can outlast the gap before the next test, whose `jit watch` would then see two sessions.
  const deadline = Date.now() + 20_000;
  while ((await listSockets(runtime)).length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});

afterAll(async () => {
  await target?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

/** The environment of an interactive session: a terminal, no CI. */
function ttyEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { ...target.env, JIT_RUNTIME_DIR: runtime, LANG: 'C.UTF-8', ...extra };
  delete env.CI;
  delete env.GITHUB_ACTIONS;
  return env;
}

async function pane(command: string[], env: Record<string, string>, width = 120): Promise<TmuxPane> {
  const p = await TmuxPane.start(work, command, env, { width, height: 30 });
  panes.push(p);
  return p;
}

async function names(): Promise<string[]> {
  return withClient(target.adminUrl, async (c) => {
    const { rows } = await c.query<{ name: string }>('SELECT name FROM customers WHERE id <= 3 ORDER BY id');
    return rows.map((r) => r.name);
  });
}

async function resetNames(): Promise<void> {
  await withClient(target.adminUrl, (c) => c.query(`UPDATE customers SET name = 'name ' || id`));
}

const PAIRING = /pairing code ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})/;

describe('jit run at a terminal, approved from jit watch', () => {
  it('a held UPDATE runs only after the paired watcher approves it', async () => {
    await resetNames();
    const audit = path.join(work, 'approve.jsonl');
    const run = await pane(
      [
        'node',
        JIT_BIN,
        'run',
        '--config',
        target.configPath,
        '--audit-log',
        audit,
        '--',
        'sh',
        '-c',
        `env > ${path.join(work, 'child-env.txt')}; psql -XAtc "UPDATE customers SET name = 'approved ' || id"; echo "child done"`,
      ],
      ttyEnv(),
    );
    const code = (await run.waitFor(PAIRING))[1] ?? '';
    await run.waitFor(/held \(rule unbounded-write\) on connection \d+: UPDATE customers/);
    expect(await names()).toEqual(['name 1', 'name 2', 'name 3']);

    const watch = await pane(['node', JIT_BIN, 'watch'], ttyEnv(), 100);
    await watch.waitFor(/Pairing code/);
    await watch.type(code.toLowerCase());
    await watch.keys('Enter');
    await watch.waitFor(/UPDATE customers SET name/);
    await watch.waitFor(/unbounded-write/);
    expect(await names(), 'nothing ran before the approval').toEqual(['name 1', 'name 2', 'name 3']);
    await watch.type('a');
    await run.waitFor(/UPDATE 100[\s\S]*child done/);
    expect(await names()).toEqual(['approved 1', 'approved 2', 'approved 3']);
    expect(await run.exitCode()).toBe(0);

    const childEnv = await readFile(path.join(work, 'child-env.txt'), 'utf8');
    expect(childEnv).not.toContain(code);
    expect(childEnv).not.toContain(code.replace(/-/g, ''));
    const records = (await readFile(audit, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.find((r) => r.kind === 'approval')).toMatchObject({
      decision: 'approved',
      approver: expect.stringMatching(/^jit watch \(/),
    });
  });

  it('a denial from jit watch, with its reason, reaches the agent as an error; nothing runs', async () => {
    await resetNames();
    const run = await pane(
      [
        'node',
        JIT_BIN,
        'run',
        '--config',
        target.configPath,
        '--',
        'sh',
        '-c',
        `psql -XAtc "DELETE FROM customers"; echo "psql exit $?"`,
      ],
      ttyEnv(),
    );
    const code = (await run.waitFor(PAIRING))[1] ?? '';
    const watch = await pane(['node', JIT_BIN, 'watch'], ttyEnv(), 100);
    await watch.waitFor(/Pairing code/);
    await watch.type(code);
    await watch.keys('Enter');
    await watch.waitFor(/DELETE FROM customers/);
    await watch.type('d');
    // Type the reason only once its input is there: before that, letters are commands.
    await watch.waitFor(/deny, reason: /);
    await watch.type('not on prod data');
    await watch.keys('Enter');
    await run.waitFor(/denied by jit watch \([^)]*\): not on prod data[\s\S]*psql exit 1/);
    expect(await names()).toEqual(['name 1', 'name 2', 'name 3']);
    await watch.waitFor(/denied/);
  });

  it('without an answer the statement is denied at the timeout, with a notice and the bell', async () => {
    await resetNames();
    const policy = path.join(work, 'short-timeout.yaml');
    await writeFile(policy, 'approval: { timeout: 3s }\n');
    const run = await pane(
      [
        'node',
        JIT_BIN,
        'run',
        '--config',
        target.configPath,
        '--policy',
        policy,
        '--',
        'sh',
        '-c',
        `psql -XAtc "UPDATE customers SET name = 'timeout ' || id"; echo "psql exit $?"`,
      ],
      ttyEnv(),
    );
    await run.waitFor(/held \(rule unbounded-write\)[\s\S]*within [0-9]+s, or it is denied/);
    await run.waitFor(/denied by timeout: nobody approved it in time[\s\S]*psql exit 1/, 15_000);
    expect(await names()).toEqual(['name 1', 'name 2', 'name 3']);
  });

  it('the agent cannot approve its own statement: a wrong code is refused and the statement stays held', async () => {
    await resetNames();
    const policy = path.join(work, 'timeout-5s.yaml');
    await writeFile(policy, 'approval: { timeout: 5s }\n');
    // The child tries what an agent could: jit watch with a guessed code, in the background of its own held UPDATE.
    const script = [
      // jit strips JIT_* from the child's environment; an agent would find the directory anyway.
      `(sleep 1; echo AAAA-BBBB-CCCC-DDDD | JIT_RUNTIME_DIR=${runtime} node ${JIT_BIN} watch --json > ${path.join(work, 'self-watch.txt')} 2>&1) &`,
      `psql -XAtc "UPDATE customers SET name = 'self ' || id"`,
      'wait',
    ].join('\n');
    const run = await pane(
      ['node', JIT_BIN, 'run', '--config', target.configPath, '--policy', policy, '--', 'sh', '-c', script],
      ttyEnv(),
    );
    await run.exitCode(30_000);
    const selfWatch = await readFile(path.join(work, 'self-watch.txt'), 'utf8');
    expect(selfWatch).toContain('does not know this pairing code');
    expect(selfWatch).not.toContain('UPDATE customers');
    expect(await names()).toEqual(['name 1', 'name 2', 'name 3']);
    expect(await run.screen()).toMatch(/denied by timeout/);
  });
});

describe("jit run --tui: the live view on jit's own terminal", () => {
  it('approves from the view; the command writes to a file whose tail is shown at the end', async () => {
    await resetNames();
    const run = await pane(
      [
        'node',
        JIT_BIN,
        'run',
        '--tui',
        '--config',
        target.configPath,
        '--',
        'sh',
        '-c',
        `psql -XAtc "UPDATE customers SET name = 'tui-run ' || id"; echo "child says bye"`,
      ],
      ttyEnv(),
      100,
    );
    await run.waitFor(/held for approval[\s\S]*UPDATE customers SET name = 'tui-run ' \|\| id/);
    expect(await names()).toEqual(['name 1', 'name 2', 'name 3']);
    await run.type('a');
    await run.waitFor(/the command's output is in \S+\.out:\s+UPDATE 100\s+child says bye/);
    expect(await run.exitCode()).toBe(0);
    expect(await names()).toEqual(['tui-run 1', 'tui-run 2', 'tui-run 3']);
  });
});

describe('jit proxy in a terminal: the live view', () => {
  it('shows statements as they run and approves a held one from the same terminal', async () => {
    await resetNames();
    const proxy = await pane(['node', JIT_BIN, 'proxy', '--config', target.configPath], ttyEnv(), 200);
    const url = (await proxy.waitFor(/(postgres:\/\/\S+)/))[1] ?? '';
    await proxy.waitFor(/jit_\w+_[0-9a-f]{8}/);
    const select = await execa('psql', ['-XAtc', 'SELECT count(*) FROM customers', url], { reject: false });
    expect(select.stdout).toBe('100');
    await proxy.waitFor(/allowed[\s\S]*SELECT count\(\*\) FROM customers/);
    const update = execa('psql', ['-XAtc', "UPDATE customers SET name = 'tui ' || id", url], {
      reject: false,
    });
    await proxy.waitFor(/UPDATE customers SET name = 'tui ' \|\| id/);
    expect(await names()).toEqual(['name 1', 'name 2', 'name 3']);
    await proxy.type('a');
    expect((await update).stdout).toBe('UPDATE 100');
    expect(await names()).toEqual(['tui 1', 'tui 2', 'tui 3']);
    await proxy.waitFor(/approved/);
    await proxy.type('q');
    expect(await proxy.exitCode()).toBe(0);
    const roles = await withClient(
      adminUrl,
      async (c) =>
        (
          await c.query(
            `SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE g.rolname = $1`,
            [target.memberRole],
          )
        ).rowCount,
    );
    expect(roles).toBe(0);
  });
});
