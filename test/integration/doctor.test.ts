import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { checkClock, clockSample } from '../../src/doctor/clock.js';
import { doctorCommand } from '../../src/handlers/doctor.js';
import { TokenStore } from '../../src/identity/store.js';
import { withClient } from '../helpers/db.js';
import { startIdp, type TestIdp } from '../helpers/idp.js';
import { createTarget, runJit, type TestTarget } from '../helpers/jit.js';
import { freePort } from '../helpers/ports.js';

const adminUrl = inject('adminUrl');
/** `node --import` this to make the OS keyring answer AccessDenied (fault injection). */
const KEYRING_UNAVAILABLE = fileURLToPath(new URL('../helpers/keyring-unavailable.mjs', import.meta.url));

/** One line of `jit doctor --json`. */
interface Row {
  check: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix: string | null;
}

let target: TestTarget;
let scratch: string;
let counter = 0;
/** Every stdout and stderr doctor printed in this file, checked for secrets at the end. */
const printed: string[] = [];
/** Secret values that must never be printed. */
const secrets: string[] = [];
/** Roles this file creates on the shared server. */
const roles: string[] = [];

beforeAll(async () => {
  target = await createTarget(adminUrl);
  scratch = await mkdtemp(path.join(tmpdir(), 'jit-doctor-'));
  secrets.push(target.adminUrl, decodeURIComponent(new URL(target.adminUrl).password));
});

afterAll(async () => {
  for (const role of roles) {
    await withClient(adminUrl, (c) => c.query(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`)).catch(
      () => {},
    );
  }
  await target?.cleanup();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** A fresh config dir (where a token file would go) plus the target's environment. */
function home(extra: Record<string, string> = {}): { dir: string; env: Record<string, string> } {
  const dir = path.join(scratch, `home-${++counter}`);
  return { dir, env: { ...target.env, JIT_CONFIG_DIR: dir, ...extra } };
}

/** Runs the built `jit doctor`, remembering what it printed. */
async function doctor(args: string[], env: Record<string, string>) {
  const result = await runJit(['doctor', ...args], { env });
  printed.push(result.stdout, result.stderr);
  return result;
}

/** `jit doctor --json` parsed. */
async function doctorJson(args: string[], env: Record<string, string>) {
  const result = await doctor([...args, '--json'], env);
  return { exitCode: result.exitCode, stderr: result.stderr, rows: JSON.parse(result.stdout) as Row[] };
}

function row(rows: Row[], check: string): Row {
  const found = rows.find((r) => r.check === check);
  if (!found) throw new Error(`no check ${check} in ${rows.map((r) => r.check).join(', ')}`);
  return found;
}

/** A login role with a random password (the password goes on the list of secrets). */
async function makeRole(attributes: string): Promise<{ name: string; url: string }> {
  const name = `doctor_${randomBytes(4).toString('hex')}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  await withClient(adminUrl, (c) =>
    c.query(`CREATE ROLE ${name} LOGIN PASSWORD '${password}' ${attributes}`),
  );
  roles.push(name);
  secrets.push(password);
  const url = new URL(target.adminUrl);
  url.username = name;
  url.password = password;
  return { name, url: url.toString() };
}

async function serverVersion(): Promise<number> {
  return withClient(adminUrl, async (c) => {
    const { rows } = await c.query<{ v: number }>(`SELECT current_setting('server_version_num')::int AS v`);
    return rows[0]?.v ?? 0;
  });
}

describe('jit doctor against the suite PostgreSQL (identity: os-user)', () => {
  it('passes every check but the expected warnings, one line each with a fix under warnings', async () => {
    const { dir, env } = home({ NODE_OPTIONS: `--import ${pathToFileURL(KEYRING_UNAVAILABLE).href}` });
    const result = await doctor(['--config', target.configPath], env);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const lines = result.stdout.trimEnd().split('\n');
    const port = new URL(target.adminUrl).port;
    const expected = [
      `ok    config: ${target.configPath}: identity os-user, 1 target (test)`,
      `warn  keyring: no usable OS keyring (Couldn't access platform storage: AccessDenied); tokens fall back to ${path.join(dir, 'tokens.json')} (mode 0600)`,
      expect.stringMatching(/^ {2}fix: nothing to do on a headless machine or in CI; .*JIT_KEYRING=off/),
      'warn  identity: os-user: sessions act as the local OS user, and audit records mark them unauthenticated',
      expect.stringMatching(/^ {2}fix: .*identity: oidc/),
      `ok    target test credential: JIT_ADMIN_URL holds an admin URL for postgres@127.0.0.1:${port}/${target.database}`,
      expect.stringMatching(
        new RegExp(
          `^ok {4}target test upstream: PostgreSQL \\d+\\.\\d+ at 127\\.0\\.0\\.1:${port}/${target.database} as postgres, no TLS \\(tls: disable\\)$`,
        ),
      ),
      'ok    target test admin role: postgres is superuser, so it can create grant roles',
      `ok    target test roles: "${target.memberRole}" exists and can be granted`,
      expect.stringMatching(
        /^ok {4}clock: local clock \d+\.\ds (ahead of|behind) the database \(clock_timestamp\(\)\) \(±\d+\.\ds\)$/,
      ),
      '',
      '6 ok, 2 warn, 0 fail',
    ];
    expect(lines).toEqual(expected);
  });

  it('--json prints an array of {check, status, detail, fix}', async () => {
    const { env } = home({ JIT_KEYRING: 'off' });
    const { exitCode, rows } = await doctorJson(['--config', target.configPath], env);
    expect(exitCode).toBe(0);
    for (const r of rows) expect(Object.keys(r).sort()).toEqual(['check', 'detail', 'fix', 'status']);
    expect(rows.map((r) => [r.check, r.status])).toEqual([
      ['config', 'ok'],
      ['keyring', 'ok'],
      ['identity', 'warn'],
      ['target test credential', 'ok'],
      ['target test upstream', 'ok'],
      ['target test admin role', 'ok'],
      ['target test roles', 'ok'],
      ['clock', 'ok'],
    ]);
    expect(row(rows, 'keyring').detail).toMatch(
      /^JIT_KEYRING=off: tokens are kept in .*tokens\.json \(mode 0600\)$/,
    );
    expect(row(rows, 'config').fix).toBeNull();
    expect(row(rows, 'identity').fix).toMatch(/identity: oidc/);
  });

  it('reports the OS keyring as it is on this machine: usable, or the file fallback', async () => {
    const { dir, env } = home();
    const { rows } = await doctorJson(['--config', target.configPath], env);
    const keyring = row(rows, 'keyring');
    if (keyring.status === 'ok') {
      expect(keyring.detail).toMatch(/the OS keyring works/);
    } else {
      expect(keyring.status).toBe('warn');
      expect(keyring.detail).toContain(`tokens fall back to ${path.join(dir, 'tokens.json')} (mode 0600)`);
    }
  });

  it('fails the credential check when the admin variable is not set, and says what to export', async () => {
    const { env } = home({ JIT_KEYRING: 'off' });
    delete env.JIT_ADMIN_URL;
    const result = await doctor(['--config', target.configPath], env);
    expect(result.exitCode).toBe(1);
    const lines = result.stdout.split('\n');
    const at = lines.findIndex((l) => l.startsWith('fail  target test credential: '));
    expect(lines[at]).toBe(
      "fail  target test credential: target 'test' needs an admin connection URL in the environment variable JIT_ADMIN_URL, which is not set",
    );
    expect(lines[at + 1]).toMatch(
      /^ {2}fix: export JIT_ADMIN_URL='postgres:\/\/ADMIN_USER:PASSWORD@127\.0\.0\.1:/,
    );
    // Nothing that needs the credential is attempted.
    expect(result.stdout).not.toMatch(/target test (upstream|admin role|roles)/);
  });

  it('fails when the upstream port is closed, while the admin DSN still answers', async () => {
    const closed = await createTarget(adminUrl, { upstreamPort: await freePort() });
    try {
      const { rows, exitCode } = await doctorJson(['--config', closed.configPath], {
        ...closed.env,
        JIT_KEYRING: 'off',
        JIT_CONFIG_DIR: path.join(scratch, 'closed'),
      });
      expect(exitCode).toBe(1);
      expect(row(rows, 'target test admin connection').status).toBe('ok');
      const upstream = row(rows, 'target test upstream');
      expect(upstream.status).toBe('fail');
      expect(upstream.detail).toMatch(/^cannot reach PostgreSQL at 127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/);
      expect(upstream.fix).toBe(
        'check that the server is running and that targets.test.upstream names its host and port',
      );

      // The admin DSN names the same closed endpoint: one `upstream` line, and a fix naming both.
      const url = new URL(closed.adminUrl);
      url.port = String(closed.port);
      secrets.push(url.toString());
      const same = await doctorJson(['--config', closed.configPath], {
        ...closed.env,
        JIT_ADMIN_URL: url.toString(),
        JIT_KEYRING: 'off',
        JIT_CONFIG_DIR: path.join(scratch, 'closed'),
      });
      expect(same.exitCode).toBe(1);
      expect(same.rows.map((r) => r.check)).not.toContain('target test admin connection');
      expect(row(same.rows, 'target test upstream')).toEqual({
        check: 'target test upstream',
        status: 'fail',
        detail: `cannot reach PostgreSQL at 127.0.0.1:${closed.port} (ECONNREFUSED)`,
        fix: 'check that the server is running and that targets.test.upstream and the admin DSN (JIT_ADMIN_URL) name its host and port',
      });
    } finally {
      await closed.cleanup();
    }
  });

  it('fails when the admin DSN itself points at a closed port', async () => {
    const url = new URL(target.adminUrl);
    url.port = String(await freePort());
    const { env } = home({ JIT_KEYRING: 'off', JIT_ADMIN_URL: url.toString() });
    secrets.push(url.toString());
    const { rows, exitCode } = await doctorJson(['--config', target.configPath], env);
    expect(exitCode).toBe(1);
    const connection = row(rows, 'target test admin connection');
    expect(connection).toMatchObject({ status: 'fail' });
    expect(connection.detail).toMatch(/^cannot reach PostgreSQL at 127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/);
    expect(connection.fix).toMatch(/check that the server is running/);
  });

  it('fails, naming the role and the fix, when the admin role has no CREATEROLE', async () => {
    const plain = await makeRole('');
    const { env } = home({ JIT_KEYRING: 'off', JIT_ADMIN_URL: plain.url });
    const result = await doctor(['--config', target.configPath], env);
    expect(result.exitCode).toBe(1);
    const lines = result.stdout.split('\n');
    const at = lines.findIndex((l) => l.startsWith('fail  target test admin role: '));
    expect(lines[at]).toMatch(
      new RegExp(
        `^fail {2}target test admin role: admin role "${plain.name}" at 127\\.0\\.0\\.1:\\d+/${target.database} is neither superuser nor has CREATEROLE`,
      ),
    );
    expect(lines[at + 1]).toBe(`  fix: as a superuser run: ALTER ROLE "${plain.name}" CREATEROLE;`);
    expect(result.stdout).toMatch(/^ok {4}target test upstream: .* as doctor_/m);
  });

  it('fails the roles check for a missing member role, and (PostgreSQL 16+) one without ADMIN OPTION', async () => {
    const creator = await makeRole('CREATEROLE');
    const config = path.join(scratch, 'roles.yaml');
    const text = await readFile(target.configPath, 'utf8');
    await writeFile(
      config,
      text.replace(`roles: [${target.memberRole}]`, `roles: [${target.memberRole}, no_such_role_x]`),
    );
    const { env } = home({ JIT_KEYRING: 'off', JIT_ADMIN_URL: creator.url });
    const { rows, exitCode } = await doctorJson(['--config', config], env);
    expect(exitCode).toBe(1);
    expect(row(rows, 'target test admin role')).toMatchObject({
      status: 'ok',
      detail: `${creator.name} has CREATEROLE, so it can create grant roles`,
    });
    const check = row(rows, 'target test roles');
    expect(check.status).toBe('fail');
    expect(check.detail).toContain('"no_such_role_x" does not exist at 127.0.0.1:');
    if ((await serverVersion()) >= 160_000) {
      expect(check.detail).toContain(
        `admin role "${creator.name}" cannot grant "${target.memberRole}" (PostgreSQL 16+ requires ADMIN OPTION)`,
      );
      expect(check.fix).toContain(`GRANT "${target.memberRole}" TO "${creator.name}" WITH ADMIN OPTION;`);
    }
  });

  it('fails on an invalid config with its message, and checks nothing that needs it', async () => {
    const bad = path.join(scratch, 'bad.yaml');
    await writeFile(bad, 'identity: os-user\ntargets:\n  test:\n    upstrem: postgres://127.0.0.1/x\n');
    const { env } = home({ JIT_KEYRING: 'off' });
    const { rows, exitCode } = await doctorJson(['--config', bad], env);
    expect(exitCode).toBe(1);
    expect(rows.map((r) => r.check)).toEqual(['config', 'keyring']);
    expect(row(rows, 'config')).toMatchObject({
      status: 'fail',
      detail: `${bad}: targets.test.upstrem: unknown key (did you mean upstream?)`,
    });
  });

  it('checks only the target given with -t, and fails for an unknown one', async () => {
    const { env } = home({ JIT_KEYRING: 'off' });
    const one = await doctorJson(['--config', target.configPath, '-t', 'test'], env);
    expect(one.exitCode).toBe(0);
    const unknown = await doctorJson(['--config', target.configPath, '--target', 'tset'], env);
    expect(unknown.exitCode).toBe(1);
    expect(row(unknown.rows, 'target')).toMatchObject({ status: 'fail' });
    expect(row(unknown.rows, 'target').detail).toContain('did you mean test?');
  });

  it('fails the clock check when the local clock is 10 minutes off (injected clock)', async () => {
    let out = '';
    const now = (): number => Date.now() + 10 * 60_000;
    const code = await doctorCommand(
      { config: target.configPath },
      { write: (text: string) => (out += text) },
      {
        env: { ...target.env, JIT_KEYRING: 'off', JIT_CONFIG_DIR: path.join(scratch, 'clock') },
        cwd: scratch,
        now,
      },
    );
    printed.push(out);
    expect(code).toBe(1);
    expect(out).toMatch(/^fail {2}clock: local clock 10m ahead of the database \(clock_timestamp\(\)\)/m);
    expect(out).toMatch(/^ {2}fix: synchronise the clock with NTP/m);
  });
});

describe('clock thresholds', () => {
  const at = (skewMs: number) => checkClock([{ source: 'x', skewMs, uncertaintyMs: 0 }])?.status;

  it('ok up to 30 s, warn beyond, fail beyond 5 min, either direction', () => {
    expect(at(29_000)).toBe('ok');
    expect(at(-31_000)).toBe('warn');
    expect(at(299_000)).toBe('warn');
    expect(at(-301_000)).toBe('fail');
    expect(checkClock([])).toBeUndefined();
  });

  it('measures from the middle of the round trip, and a Date header to the middle of its second', () => {
    expect(clockSample('db', 1_000_050, 1_000_000, 1_000_100)).toEqual({
      source: 'db',
      skewMs: 0,
      uncertaintyMs: 50,
    });
    expect(clockSample('idp', 1_000_000, 1_000_400, 1_000_800, true)).toEqual({
      source: 'idp',
      skewMs: 100,
      uncertaintyMs: 700,
    });
  });
});

describe('jit doctor with identity: oidc', () => {
  let idp: TestIdp;
  let oidcTarget: TestTarget;

  beforeAll(async () => {
    idp = await startIdp();
    oidcTarget = await createTarget(adminUrl, {
      oidc: { issuer: idp.issuer, clientId: idp.clientId, ca: idp.caFile },
    });
  });

  afterAll(async () => {
    await oidcTarget?.cleanup();
    await idp?.close();
  });

  it('finds the IdP, its device flow and clock; warns when not logged in', async () => {
    const { env } = home({ ...oidcTarget.env, JIT_KEYRING: 'off' });
    const { rows, exitCode } = await doctorJson(['--config', oidcTarget.configPath], env);
    expect(exitCode).toBe(0);
    expect(row(rows, 'identity')).toMatchObject({
      status: 'ok',
      detail: `${idp.issuer} serves OIDC discovery; device flow at ${idp.issuer}/device/auth`,
    });
    expect(row(rows, 'login')).toMatchObject({ status: 'warn', detail: `not logged in to ${idp.issuer}` });
    expect(row(rows, 'login').fix).toMatch(/^run `jit login`/);
    const clock = row(rows, 'clock');
    expect(clock.status).toBe('ok');
    expect(clock.detail).toMatch(/the IdP \(HTTP Date\) .*; local clock .* the database/);
  });

  it('shows who is logged in and until when, never the tokens', async () => {
    const { dir, env } = home({ ...oidcTarget.env, JIT_KEYRING: 'off' });
    const exp = Math.floor(Date.now() / 1000) + 600;
    const idToken = await idp.signToken({
      sub: 'sub-alice',
      email: 'alice@example.com',
      aud: idp.clientId,
      exp,
    });
    const refreshToken = `rt-${randomBytes(16).toString('hex')}`;
    secrets.push(idToken, refreshToken);
    await new TokenStore(env).save({
      version: 1,
      issuer: idp.issuer,
      clientId: idp.clientId,
      idToken,
      refreshToken,
      savedAt: Date.now(),
    });
    const { rows } = await doctorJson(['--config', oidcTarget.configPath], env);
    const login = row(rows, 'login');
    expect(login.status).toBe('ok');
    expect(login.detail).toMatch(
      new RegExp(
        `^logged in as alice@example\\.com \\(tokens in ${path.join(dir, 'tokens.json').replace(/[.]/g, '\\.')}\\); ID token expires in (9m \\d+s|10m) \\(${new Date(exp * 1000).toISOString().replace(/[.]/g, '\\.')}\\), refreshable$`,
      ),
    );
  });

  it('fails when the issuer does not answer, with the unreachable message', async () => {
    const port = await freePort();
    const down = await createTarget(adminUrl, {
      oidc: { issuer: `https://127.0.0.1:${port}`, clientId: 'jit-cli' },
    });
    try {
      const result = await doctor(['--config', down.configPath], {
        ...down.env,
        JIT_KEYRING: 'off',
        JIT_CONFIG_DIR: path.join(scratch, 'down'),
      });
      expect(result.exitCode).toBe(1);
      const lines = result.stdout.split('\n');
      const at = lines.findIndex((l) => l.startsWith('fail  identity: '));
      expect(lines[at]).toBe(
        `fail  identity: OIDC discovery failed: cannot reach the identity provider at https://127.0.0.1:${port} (ECONNREFUSED)`,
      );
      expect(lines[at + 1]).toBe('  fix: check oidc.issuer (or --issuer) and your network connection');
    } finally {
      await down.cleanup();
    }
  });
});

describe('secrets', () => {
  it('none of the admin passwords, admin URLs or tokens was ever printed', () => {
    expect(printed.length).toBeGreaterThan(10);
    expect(secrets.length).toBeGreaterThan(3);
    for (const text of printed) for (const secret of secrets) expect(text).not.toContain(secret);
  });
});
