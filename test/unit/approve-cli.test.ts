import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runJit } from '../helpers/jit.js';

// `jit approve`, `jit audit show --broker` and `jit audit push` as processes: the argument errors
// and what happens before a broker is asked. (The flows against a real broker are in
// test/integration/broker.test.ts.)

let dir: string;
let local: string;
let team: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'jit-approve-cli-'));
  local = path.join(dir, 'local.yaml');
  team = path.join(dir, 'team.yaml');
  const target = ['targets:', '  dev:', '    upstream: postgres://127.0.0.1:5432/app', '    grant:'];
  await writeFile(local, [...target, '      roles: [app_rw]', 'identity: os-user', ''].join('\n'));
  await writeFile(
    team,
    [
      ...target,
      '      via: broker',
      'identity: oidc',
      'oidc: { issuer: https://idp.invalid, client_id: jit-cli }',
      'broker: { url: https://broker.invalid }',
      '',
    ].join('\n'),
  );
  await mkdir(path.join(dir, 'audit'));
  env = cleanEnv({
    JIT_CONFIG_DIR: path.join(dir, 'config'),
    JIT_KEYRING: 'off',
    JIT_AUDIT_DIR: path.join(dir, 'audit'),
    JIT_RUNTIME_DIR: path.join(dir, 'run'),
  });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs jit in the temp dir (which has no jit.yaml) and expects one error line (plus a hint). */
async function fails(args: string[]): Promise<string> {
  const result = await runJit(args, { env, cwd: dir });
  expect(result.exitCode, result.stderr).toBe(1);
  expect(result.stdout).toBe('');
  // (execa strips the final newline)
  expect(result.stderr).toMatch(/^jit: [^\n]+(\n {2}hint: [^\n]+)?$/);
  return result.stderr;
}

describe('jit approve', () => {
  it('rejects contradicting or incomplete decisions before reading any config', async () => {
    expect(await fails(['approve', 'g_1', '--approve', '--deny'])).toContain(
      '`--approve` and `--deny` exclude each other',
    );
    expect(await fails(['approve', '--approve'])).toContain('`--approve` needs the ID');
    expect(await fails(['approve', 'g_1'])).toContain('say what to do with g_1: `--approve` or `--deny`');
    expect(await fails(['approve', 'g_1', '--approve', '--fingerprint'])).toContain(
      '`--fingerprint` is for held statements',
    );
  });

  it('needs a broker for the queue options, and says so', async () => {
    expect(await fails(['approve', '--list', '--config', local])).toContain(
      "`--list` works on the team broker's queue",
    );
    expect(await fails(['approve', '--broker', '--config', local])).toContain('has no `broker:` section');
    expect(await fails(['approve', 'h_1', '--deny', '--config', local])).toContain('`--deny` works on');
  });

  it('acts as the logged-in person, and says to log in when nobody is', async () => {
    const stderr = await fails(['approve', '--list', '--config', team]);
    expect(stderr).toContain('jit approve --broker needs your login: run `jit login`');
    expect(stderr).toContain('not logged in to https://idp.invalid');
    expect(await fails(['approve', '--session', 'x', '--config', team])).toContain(
      '`--session` is for sessions',
    );
  });

  it('is jit watch without a broker', async () => {
    for (const args of [['approve'], ['approve', '--config', local]]) {
      expect(await fails(args)).toContain('no running jit session of this user');
    }
  });

  it('has help with examples', async () => {
    const result = await runJit(['approve', '--help'], { env, cwd: dir });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('$ jit approve g_8f2c1a --approve');
    expect(result.stdout).toContain('--fingerprint');
  });
});

describe('jit audit show --broker and jit audit push', () => {
  it('broker-only filters need --broker', async () => {
    expect(await fails(['audit', 'show', '--sub', 'alice'])).toContain('`--sub` only works with `--broker`');
    expect(await fails(['audit', 'show', '--until', '1h'])).toContain('`--until` only works with `--broker`');
    expect(await fails(['audit', 'show', '--broker', dir])).toContain(
      "reads the broker's records, not files",
    );
    expect(await fails(['audit', 'show', '--broker', '--limit', 'many', '--config', team])).toContain(
      '`--limit` must be a whole number',
    );
    expect(await fails(['audit', 'show', '--broker', '--config', local])).toContain(
      'has no `broker:` section',
    );
  });

  it('push sends only marked files, and says when there is nothing', async () => {
    const file = path.join(dir, 'audit', '2025-01-31T09-00-00-abc.jsonl');
    await writeFile(file, '');
    const result = await runJit(['audit', 'push', '--config', team], { env, cwd: dir });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toBe('jit: nothing to push');
    // A marked file needs the broker, as the person logged in.
    await writeFile(`${file}.unsent`, '');
    expect(await fails(['audit', 'push', '--config', team])).toContain('jit audit push needs your login');
    expect(await fails(['audit', 'push', '--config', local])).toContain('has no `broker:` section');
  });
});
