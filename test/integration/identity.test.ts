import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { actAsUser, startActionsTokenService, startIdp, type TestIdp } from '../helpers/idp.js';
import { createTarget, JIT_BIN, runJit, type TestTarget } from '../helpers/jit.js';
import { withClient } from '../helpers/db.js';
import { deviceLogin, type LoginPrompt } from '../helpers/device-login.js';
import { freePort } from '../helpers/ports.js';

const adminUrl = inject('adminUrl');
/** `node --import` this to make the OS keyring answer AccessDenied (fault injection). */
const KEYRING_UNAVAILABLE = fileURLToPath(new URL('../helpers/keyring-unavailable.mjs', import.meta.url));
/** The audience CI tokens must carry (oidc.audience in the test config). */
const CI_AUDIENCE = 'urn:jit';

let idp: TestIdp;
let target: TestTarget;
let scratch: string;
let counter = 0;

beforeAll(async () => {
  idp = await startIdp();
  target = await createTarget(adminUrl, {
    oidc: {
      issuer: idp.issuer,
      clientId: idp.clientId,
      ca: idp.caFile,
      audience: CI_AUDIENCE,
      ciIssuers: [idp.issuer],
    },
  });
  scratch = await mkdtemp(path.join(tmpdir(), 'jit-identity-'));
});

afterAll(async () => {
  await target?.cleanup();
  await idp?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** A fresh per-test config dir (where tokens go) and the env to run jit with. */
function freshHome(extra: Record<string, string> = {}): { dir: string; env: Record<string, string> } {
  const dir = path.join(scratch, `home-${++counter}`);
  return { dir, env: { ...target.env, JIT_CONFIG_DIR: dir, JIT_KEYRING: 'off', ...extra } };
}

/** Runs `jit login` with the target's config; once it shows the code, `act` plays the person (or not). */
function login(
  env: Record<string, string>,
  act: (prompt: LoginPrompt) => Promise<void>,
  args: string[] = ['--no-browser'],
) {
  return deviceLogin(target.configPath, env, act, args);
}

async function loginAs(env: Record<string, string>, user: 'alice' | 'bob' = 'alice') {
  const result = await login(env, (p) => actAsUser(idp, { url: p.completeUri, user, decision: 'approve' }));
  expect(result.exitCode, result.stderr).toBe(0);
  return result;
}

async function tokensFile(
  dir: string,
): Promise<Record<string, { idToken: string; refreshToken?: string; accessToken?: string }>> {
  return JSON.parse(await readFile(path.join(dir, 'tokens.json'), 'utf8')) as Record<
    string,
    { idToken: string; refreshToken?: string; accessToken?: string }
  >;
}

async function auditRecords(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8');
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** `jit run` printing the child's whole environment and what the database says about its role. */
async function runAndInspect(env: Record<string, string>, extraArgs: string[] = []) {
  const audit = path.join(scratch, `audit-${++counter}.jsonl`);
  const script =
    'env; psql -XAtc "SELECT current_user, shobj_description((SELECT oid FROM pg_roles WHERE rolname = current_user), \'pg_authid\')"';
  const result = await runJit(
    ['run', '--config', target.configPath, '--audit-log', audit, ...extraArgs, '--', 'sh', '-c', script],
    { env },
  );
  return { result, audit };
}

describe('jit login (device flow against a real OpenID provider)', () => {
  it('logs in, stores the tokens in a 0600 file, and whoami shows the verified identity', async () => {
    const { dir, env } = freshHome();
    const { stderr, prompt } = await loginAs(env);
    expect(prompt.completeUri).toContain(prompt.userCode);
    expect(stderr).toContain(`Logged in as alice@example.com (sub ${idp.users.alice.sub}) at ${idp.issuer}.`);
    expect(stderr).toContain(
      `Tokens are stored in ${path.join(dir, 'tokens.json')} (mode 0600): JIT_KEYRING=off.`,
    );
    expect((await stat(path.join(dir, 'tokens.json'))).mode & 0o777).toBe(0o600);
    const stored = Object.values(await tokensFile(dir));
    expect(stored).toHaveLength(1);
    expect(stored[0]?.refreshToken, 'offline_access gives a refresh token').toBeTruthy();
    // No token in what jit printed.
    expect(stderr).not.toContain(stored[0]?.idToken.slice(0, 40));

    const who = await runJit(['whoami', '--config', target.configPath, '--json'], { env });
    expect(who.exitCode, who.stderr).toBe(0);
    const json = JSON.parse(who.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({
      sub: idp.users.alice.sub,
      email: 'alice@example.com',
      groups: idp.users.alice.groups,
      issuer: idp.issuer,
      authenticated: true,
      source: 'login',
      stored_in: path.join(dir, 'tokens.json'),
    });
    expect(Date.parse(json.expires_at as string)).toBeGreaterThan(Date.now());
    const text = await runJit(['whoami', '--config', target.configPath], { env });
    expect(text.stdout).toMatch(/groups\s+dev, dba|groups\s+\S/);
  });

  it('opens the browser ($BROWSER) at the complete verification URI', async () => {
    const { env } = freshHome();
    const seen = path.join(scratch, `browser-${++counter}.txt`);
    const browser = path.join(scratch, `browser-${counter}.sh`);
    await writeFile(browser, `#!/bin/sh\nprintf '%s' "$1" > '${seen}'\n`);
    await chmod(browser, 0o755);
    // CI=true (as under .ci/run) means "no browser": this test is about a desktop session.
    const desktop: Record<string, string> = { ...env, BROWSER: browser };
    delete desktop.CI;
    const result = await login(
      desktop,
      async (p) => {
        for (let i = 0; i < 50 && !(await readFile(seen, 'utf8').catch(() => '')); i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
        const opened = await readFile(seen, 'utf8');
        expect(opened).toBe(p.completeUri);
        await actAsUser(idp, { url: opened, user: 'bob', decision: 'approve' });
      },
      [],
    );
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain('Logged in as bob@example.com');
  });

  it('works with the plain verification URI and the typed code too', async () => {
    const { env } = freshHome();
    const result = await login(env, (p) =>
      actAsUser(idp, { url: p.uri, userCode: p.userCode, user: 'alice', decision: 'approve' }),
    );
    expect(result.exitCode, result.stderr).toBe(0);
  });

  it('slows down when the provider says slow_down', async () => {
    const { env } = freshHome();
    const before = idp.devicePolls().length;
    idp.injectSlowDown(1);
    await loginAs(env);
    const polls = idp.devicePolls().slice(before);
    expect(polls.length).toBeGreaterThanOrEqual(2);
    // interval 1 s, then +5 s after slow_down (RFC 8628 §3.5).
    const gaps = polls.slice(1).map((t, i) => t - (polls[i] ?? t));
    expect(Math.max(...gaps)).toBeGreaterThanOrEqual(5_500);
  }, 30_000);

  it('reports a denied login and stores nothing', async () => {
    const { dir, env } = freshHome();
    const result = await login(env, (p) =>
      actAsUser(idp, { url: p.completeUri, user: 'alice', decision: 'deny' }),
    );
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('jit: the login was denied in the browser');
    expect(result.stderr).not.toContain('at Object.');
    await expect(stat(path.join(dir, 'tokens.json'))).rejects.toThrow(/ENOENT/);
  });

  it('reports an expired code', async () => {
    const { env } = freshHome();
    idp.setTtl('DeviceCode', 3);
    try {
      const result = await login(env, async () => {});
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('jit: the login code expired before it was approved');
    } finally {
      idp.setTtl('DeviceCode', 600);
    }
  });

  it('Ctrl-C cancels cleanly', async () => {
    const { dir, env } = freshHome();
    const child = execa('node', [JIT_BIN, 'login', '--config', target.configPath, '--no-browser'], {
      env,
      extendEnv: false,
      reject: false,
    });
    let stderr = '';
    await new Promise<void>((resolve) =>
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('Waiting for approval')) resolve();
      }),
    );
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toContain('jit: login cancelled');
    await expect(stat(path.join(dir, 'tokens.json'))).rejects.toThrow(/ENOENT/);
  });

  it('refreshes an ID token that is about to expire, and says to log in again when refresh is refused', async () => {
    const { dir, env } = freshHome();
    idp.setTtl('IdToken', 30);
    try {
      await loginAs(env);
    } finally {
      idp.setTtl('IdToken', 600);
    }
    const [before] = Object.values(await tokensFile(dir));
    const who = await runJit(['whoami', '--config', target.configPath, '--json'], { env });
    expect(who.exitCode, who.stderr).toBe(0);
    const [after] = Object.values(await tokensFile(dir));
    expect(after?.idToken).not.toBe(before?.idToken);
    const exp = Date.parse((JSON.parse(who.stdout) as { expires_at: string }).expires_at);
    expect(exp - Date.now()).toBeGreaterThan(300_000);

    // Expire it again and make the refresh token useless: revoke it at the provider.
    idp.setTtl('IdToken', 30);
    try {
      await loginAs(env);
    } finally {
      idp.setTtl('IdToken', 600);
    }
    const [current] = Object.values(await tokensFile(dir));
    await idp.revokeToken(current?.refreshToken ?? '');
    const refused = await runJit(['whoami', '--config', target.configPath], { env });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/jit: your login to \S+ has expired and could not be refreshed/);
    expect(refused.stderr).toContain('hint: run `jit login` again');
  }, 40_000);

  it('logout revokes at the provider and deletes the tokens here', async () => {
    const { dir, env } = freshHome();
    await loginAs(env);
    const [stored] = Object.values(await tokensFile(dir));
    const out = await runJit(['logout', '--config', target.configPath], { env });
    expect(out.exitCode, out.stderr).toBe(0);
    expect(out.stderr).toContain('tokens revoked at the provider and deleted here');
    expect(idp.revoked()).toContain(stored?.refreshToken);
    await expect(stat(path.join(dir, 'tokens.json'))).rejects.toThrow(/ENOENT/);
    const who = await runJit(['whoami', '--config', target.configPath], { env });
    expect(who.exitCode).toBe(1);
    expect(who.stderr).toContain(`jit: not logged in to ${idp.issuer}`);
    const again = await runJit(['logout', '--config', target.configPath], { env });
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toContain('Not logged in');
  });

  it('falls back to a 0600 file when the OS keyring is unusable (AccessDenied), and says so once', async () => {
    const { dir, env } = freshHome({ NODE_OPTIONS: `--import ${pathToFileURL(KEYRING_UNAVAILABLE).href}` });
    delete env.JIT_KEYRING;
    const { stderr } = await loginAs(env);
    expect(stderr).toContain(
      `Tokens are stored in ${path.join(dir, 'tokens.json')} (mode 0600): no usable OS keyring ` +
        "(Couldn't access platform storage: AccessDenied).",
    );
    expect((await stat(path.join(dir, 'tokens.json'))).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const who = await runJit(['whoami', '--config', target.configPath], { env });
    expect(who.exitCode, who.stderr).toBe(0);
    expect(who.stderr, 'the fallback is announced once, at login').toBe('');
    expect(who.stdout).toContain(`tokens in ${path.join(dir, 'tokens.json')}`);
  });

  it('uses the OS keyring when it works: no tokens file, and logout deletes the entry', async (ctx) => {
    const { Entry } = await import('@napi-rs/keyring');
    const probe = new Entry('jit-test-probe', `p-${process.pid}`);
    let keyringWorks = true;
    try {
      probe.setPassword('x');
      probe.deletePassword();
    } catch {
      keyringWorks = false;
    }
    // Without a usable keyring (most headless machines) only the fallback can be observed.
    if (!keyringWorks) ctx.skip();
    const { dir, env } = freshHome();
    delete env.JIT_KEYRING;
    const { stderr } = await loginAs(env);
    expect(stderr).toContain('Tokens are stored in the OS keyring.');
    await expect(stat(path.join(dir, 'tokens.json'))).rejects.toThrow(/ENOENT/);
    const who = await runJit(['whoami', '--config', target.configPath, '--json'], { env });
    expect(JSON.parse(who.stdout)).toMatchObject({ stored_in: 'keyring', sub: idp.users.alice.sub });
    const out = await runJit(['logout', '--config', target.configPath], { env });
    expect(out.exitCode, out.stderr).toBe(0);
    const gone = await runJit(['whoami', '--config', target.configPath], { env });
    expect(gone.exitCode).toBe(1);
    expect(new Entry('jit', `oidc:${idp.issuer}#${idp.clientId}`).getPassword()).toBeNull();
  });

  it('gives clear errors for an unreachable issuer, an unknown client and an untrusted certificate', async () => {
    const { env } = freshHome();
    const port = await freePort();
    const closed = await runJit(
      ['login', '--issuer', `https://127.0.0.1:${port}`, '--client-id', 'x', '--no-browser'],
      {
        env,
        cwd: scratch,
      },
    );
    expect(closed.exitCode).toBe(1);
    expect(closed.stderr).toContain(
      `cannot reach the identity provider at https://127.0.0.1:${port} (ECONNREFUSED)`,
    );

    const unknown = await runJit(
      ['login', '--config', target.configPath, '--client-id', 'no-such-client', '--no-browser'],
      {
        env,
      },
    );
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain(`jit: ${idp.issuer} does not know the client "no-such-client"`);

    const untrusted = await runJit(
      ['login', '--issuer', idp.issuer, '--client-id', idp.clientId, '--no-browser'],
      { env, cwd: scratch },
    );
    expect(untrusted.exitCode).toBe(1);
    expect(untrusted.stderr).toMatch(/the TLS certificate of \S+ is not trusted/);
    expect(untrusted.stderr).toContain('hint: if the provider uses a private CA, set oidc.ca');
    for (const r of [closed, unknown, untrusted]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('jit run with a verified identity', () => {
  it('names the logged-in person in the role, its comment and the audit trail; no token reaches the child', async () => {
    const { dir, env } = freshHome();
    await loginAs(env);
    const [stored] = Object.values(await tokensFile(dir));
    const { result, audit } = await runAndInspect(env);
    expect(result.exitCode, result.stderr).toBe(0);
    const [role, comment] = result.stdout.trim().split('\n').at(-1)?.split('|') ?? [];
    expect(role).toMatch(/^jit_alice_[0-9a-f]{8}$/);
    // The agent reads the comment through the proxy, which masks the email in it.
    expect(comment).toContain(`identity=${idp.users.alice.sub} email=[REDACTED:email] issuer=${idp.issuer}`);
    for (const secret of [stored?.idToken, stored?.refreshToken, stored?.accessToken]) {
      if (secret) expect(result.stdout).not.toContain(secret.slice(-24));
    }
    expect(result.stdout).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}\./);
    const records = await auditRecords(audit);
    expect(records.length).toBeGreaterThan(2);
    const auditText = await readFile(audit, 'utf8');
    for (const secret of [stored?.idToken, stored?.refreshToken, stored?.accessToken]) {
      if (secret) expect(auditText).not.toContain(secret.slice(-24));
    }
    for (const r of records) {
      expect(r.identity).toEqual({
        authenticated: true,
        email: 'alice@example.com',
        iss: idp.issuer,
        sub: idp.users.alice.sub,
      });
    }
    const verify = await runJit(['audit', 'verify', audit], { env });
    expect(verify.exitCode, verify.stderr).toBe(0);
  });

  it('refuses to start without a login, and issues no grant', async () => {
    const { env } = freshHome();
    const plain = await runAndInspect(env);
    expect(plain.result.exitCode).toBe(1);
    expect(plain.result.stderr).toContain(`jit: not logged in to ${idp.issuer}`);
    expect(plain.result.stderr).toContain('hint: run `jit login`');
    const ci = await runAndInspect(env, ['--ci']);
    expect(ci.result.exitCode).toBe(1);
    expect(ci.result.stderr).toContain('jit: no CI identity');
    expect(await jitRoles()).toEqual([]);
  });
});

describe('CI identities (no prompt)', () => {
  const ciClaims = { repository: 'acme/app', ref: 'refs/heads/main', workflow: 'deploy' };

  it('JIT_ID_TOKEN: a valid token is verified and names the job; the token never reaches the child', async () => {
    const token = await idp.signToken({
      iss: idp.issuer,
      aud: CI_AUDIENCE,
      sub: 'repo:acme/app:ref:refs/heads/main',
      ...ciClaims,
      iat: now(),
      exp: now() + 300,
    });
    const { env } = freshHome({ JIT_ID_TOKEN: token });
    const { result, audit } = await runAndInspect(env, ['--ci']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).not.toContain(token.slice(-24));
    expect(result.stdout).not.toContain('JIT_ID_TOKEN');
    expect(result.stdout.trim().split('\n').at(-1)).toMatch(/^jit_ci_app_[0-9a-f]{8}\|/);
    const [first] = await auditRecords(audit);
    expect(first?.identity).toEqual({
      authenticated: true,
      iss: idp.issuer,
      sub: 'repo:acme/app:ref:refs/heads/main',
    });

    const who = await runJit(['whoami', '--config', target.configPath, '--json'], { env });
    expect(JSON.parse(who.stdout)).toMatchObject({ source: 'id-token-env', claims: ciClaims });
  });

  it.each([
    [
      'signed by another key',
      { foreignKey: true },
      {},
      /signed by a key \S+ does not publish|signature does not verify/,
    ],
    [
      'for another audience',
      {},
      { aud: 'urn:someone-else' },
      /issued for audience "urn:someone-else", not "urn:jit"/,
    ],
    ['expired', {}, { iat: now() - 600, exp: now() - 300 }, /JIT_ID_TOKEN was rejected: it expired at /],
    [
      'from an untrusted issuer',
      {},
      { iss: 'https://evil.example.com' },
      /issued by https:\/\/evil.example.com, which jit does not trust/,
    ],
  ] as const)('JIT_ID_TOKEN %s is rejected before any grant', async (_name, opts, override, message) => {
    const token = await idp.signToken(
      { iss: idp.issuer, aud: CI_AUDIENCE, sub: 'repo:acme/app', iat: now(), exp: now() + 300, ...override },
      opts,
    );
    const { env } = freshHome({ JIT_ID_TOKEN: token });
    const { result } = await runAndInspect(env, ['--ci']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await jitRoles()).toEqual([]);
  });

  it('GitHub Actions: requests a token for the configured audience and verifies it', async () => {
    const actions = await startActionsTokenService(idp, {
      sub: 'repo:acme/app:ref:refs/heads/main',
      ...ciClaims,
    });
    try {
      const { env } = freshHome({
        ACTIONS_ID_TOKEN_REQUEST_URL: actions.url,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: actions.token,
      });
      const { result, audit } = await runAndInspect(env, ['--ci']);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(actions.requests()).toEqual([CI_AUDIENCE]);
      expect(result.stdout).not.toContain('ACTIONS_ID_TOKEN_REQUEST');
      expect(result.stdout).not.toContain(actions.token);
      const [first] = await auditRecords(audit);
      expect(first?.identity).toMatchObject({
        authenticated: true,
        sub: 'repo:acme/app:ref:refs/heads/main',
      });
    } finally {
      await actions.close();
    }
  });

  it('client credentials (--client-secret-env): a service account, verified, its secret kept from the child', async () => {
    const { env } = freshHome({ SVC_SECRET: idp.service.secret });
    const args = ['--ci', '--client-id', idp.service.clientId, '--client-secret-env', 'SVC_SECRET'];
    const { result, audit } = await runAndInspect(env, args);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).not.toContain('SVC_SECRET');
    expect(result.stdout).not.toContain(idp.service.secret);
    const [first] = await auditRecords(audit);
    expect(first?.identity).toEqual({ authenticated: true, iss: idp.issuer, sub: idp.service.clientId });

    const wrong = await runAndInspect({ ...env, SVC_SECRET: 'not-the-secret' }, args);
    expect(wrong.result.exitCode).toBe(1);
    expect(wrong.result.stderr).toContain(`refused the client credentials of "${idp.service.clientId}"`);
  });
});

function now(): number {
  return Math.floor(Date.now() / 1000);
}

/** Roles jit made for this file's target (members of its member role); none should outlive a test. */
async function jitRoles(): Promise<string[]> {
  return withClient(adminUrl, async (c) => {
    const { rows } = await c.query<{ rolname: string }>(
      `SELECT r.rolname FROM pg_auth_members m
         JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid
        WHERE g.rolname = $1`,
      [target.memberRole],
    );
    return rows.map((r) => r.rolname);
  });
}
