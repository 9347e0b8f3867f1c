/**
 * Team mode end to end: two `jit broker` processes sharing one state database, a real IdP
 * (oidc-provider) issuing tokens for a requester (bob), an approver (alice) and a CI job (a
 * client-credentials service account), a real target database, and the built `jit` as the
 * developer's CLI — with no admin credential anywhere in the CLI's environment.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loginAs } from '../helpers/device-login.js';
import { startIdp, type TestIdp } from '../helpers/idp.js';
import { httpsFetch, type TestFetch } from '../helpers/idp-fetch.js';
import { cleanEnv, createTarget, JIT_BIN, runJit, type TestTarget } from '../helpers/jit.js';
import { createTestDatabase, withClient } from '../helpers/db.js';
import { freePort } from '../helpers/ports.js';
import { createTestPki } from '../helpers/tls/certs.js';
import { TmuxPane } from '../helpers/tmux.js';

const serverAdminUrl = inject('adminUrl');
const AUDIENCE = 'urn:jit';
/** Short, so the reaper test is quick; long enough for the outage test to work while replica A is down. */
const HEARTBEAT_TIMEOUT_S = 6;

let idp: TestIdp;
let target: TestTarget;
let state: { name: string; url: string; drop: () => Promise<void> };
let dir: string;
let caFile: string;
let fetchCa: TestFetch;
let brokerYaml: (port: number) => string;
/** limits.open_grants of the test brokers. */
const OPEN_GRANTS = 3;
/** limits.grant_requests of the test brokers: at most this many requests per caller in any 10 s. */
const GRANT_REQUESTS = 8;
let brokerEnv: Record<string, string>;
const ports: { a: number; b: number } = { a: 0, b: 0 };
let brokerA: BrokerProcess;
let brokerB: BrokerProcess;
/** Per-person CLI homes (tokens) and configs pointing at replica A or B. */
const homes: Record<'alice' | 'bob' | 'ci', Record<string, string>> = { alice: {}, bob: {}, ci: {} };
let configA: string;
let configB: string;

interface BrokerProcess {
  url: string;
  process: ResultPromise;
  output: () => string;
  stop: () => Promise<void>;
}

async function startBrokerProcess(port: number): Promise<BrokerProcess> {
  const config = path.join(dir, `broker-${port}.yaml`);
  await writeFile(config, brokerYaml(port));
  const child = execa('node', [JIT_BIN, 'broker', '--config', config], {
    env: brokerEnv,
    extendEnv: false,
    reject: false,
    buffer: false,
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start: ${output}`)), 30_000);
    const check = () => {
      const m = /listening on (https:\/\/\S+)/.exec(output);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stderr?.on('data', check);
    void child.then((r) => {
      clearTimeout(timer);
      reject(new Error(`broker exited (${r.exitCode}): ${output}`));
    });
  });
  return {
    url,
    process: child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await child;
    },
  };
}

function cliConfig(brokerUrl: string): string {
  return [
    'identity: oidc',
    'oidc:',
    `  issuer: ${idp.issuer}`,
    `  client_id: ${idp.clientId}`,
    `  ca: ${idp.caFile}`,
    `  audience: ${AUDIENCE}`,
    'broker:',
    `  url: ${brokerUrl}`,
    `  ca: ${caFile}`,
    'targets:',
    '  test:',
    `    upstream: postgres://127.0.0.1:${target.port}/${target.database}`,
    '    tls: disable',
    '    grant:',
    '      via: broker',
    `      roles: [${target.memberRole}]`,
    '      ttl: 10m',
    '',
  ].join('\n');
}

/** The CLI environment of a person: their own token home, no admin credential of any kind. */
function cliEnv(who: 'alice' | 'bob' | 'ci', extra: Record<string, string> = {}): Record<string, string> {
  return { ...cleanEnv(), ...homes[who], ...extra };
}

const ciArgs = () => ['--ci', '--client-id', idp.service.clientId, '--client-secret-env', 'CI_SECRET'];
const ciEnv = () => cliEnv('ci', { CI_SECRET: idp.service.secret });

async function idToken(who: 'alice' | 'bob'): Promise<string> {
  const file = path.join(homes[who].JIT_CONFIG_DIR as string, 'tokens.json');
  const tokens = JSON.parse(await readFile(file, 'utf8')) as Record<string, { idToken: string }>;
  const entry = Object.values(tokens)[0];
  if (!entry) throw new Error(`no tokens for ${who}`);
  return entry.idToken;
}

async function api(base: string, token: string | undefined, method: string, route: string, body?: unknown) {
  const response = await fetchCa(`${base}${route}`, {
    method,
    headers: {
      ...(token && { authorization: `Bearer ${token}` }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function stateRows<T extends pg.QueryResultRow>(sql: string, args: unknown[] = []): Promise<T[]> {
  return withClient(state.url, async (c) => (await c.query<T>(sql, args)).rows);
}

async function jitRoles(): Promise<string[]> {
  return withClient(target.adminUrl, async (c) =>
    (
      await c.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname LIKE 'jit\\_%'")
    ).rows.map((r) => r.rolname),
  );
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** POST /v1/grants for target `test` with reason `LABEL N`, alternating between the replicas. */
function requestGrant(token: string, label: string, n: number) {
  return api(n % 2 ? brokerA.url : brokerB.url, token, 'POST', '/v1/grants', {
    target: 'test',
    reason: `${label} ${n}`,
    session: `sess-${label}-${n}`,
  });
}

/** Starts a jit process and collects its stderr. */
function startJit(args: string[], env: Record<string, string>) {
  const child = execa('node', [JIT_BIN, ...args], { env, extendEnv: false, reject: false, buffer: false });
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  return { child, stderr: () => stderr, stdout: () => stdout };
}

/** `jit proxy` as the CI job against replica A, once it printed its URL. */
async function startCiProxy() {
  const proxy = startJit(['proxy', '--config', configA, ...ciArgs()], ciEnv());
  const url = await waitFor('the proxy URL', async () =>
    proxy
      .stdout()
      .split('\n')
      .find((l) => l.startsWith('postgres://')),
  );
  return { proxy, url };
}

beforeAll(async () => {
  idp = await startIdp();
  target = await createTarget(serverAdminUrl);
  state = await createTestDatabase(serverAdminUrl, 'jitstate');
  dir = await mkdtemp(path.join(tmpdir(), 'jit-broker-'));
  const pki = await createTestPki(dir);
  caFile = pki.ca.cert;
  fetchCa = httpsFetch(await readFile(caFile, 'utf8'));
  ports.a = await freePort();
  ports.b = await freePort();
  brokerYaml = (port) =>
    [
      'listen:',
      '  host: 127.0.0.1',
      `  port: ${port}`,
      `  tls: { cert: ${pki.impostor.cert}, key: ${pki.impostor.key} }`,
      'issuers:',
      `  - issuer: ${idp.issuer}`,
      `    audience: [${idp.clientId}, ${AUDIENCE}]`,
      `    ca: ${idp.caFile}`,
      'targets:',
      '  test:',
      `    upstream: postgres://127.0.0.1:${target.port}/${target.database}`,
      '    tls: disable',
      '    admin_url_env: JIT_TEST_ADMIN_URL',
      '    connection_limit: 20',
      'rules:',
      '  - name: ci-service',
      `    who: { subs: [${idp.service.clientId}] }`,
      '    targets: [test]',
      `    roles: [${target.memberRole}]`,
      '    max_ttl: 15m',
      '  - name: developers',
      '    who: { groups: [developers] }',
      '    targets: [test]',
      `    roles: [${target.memberRole}]`,
      '    max_ttl: 1h',
      '    approval: { groups: [jit-admins] }',
      'admins: { groups: [jit-admins] }',
      `reaper: { interval: 1s, heartbeat_timeout: ${HEARTBEAT_TIMEOUT_S}s }`,
      `limits: { open_grants: ${OPEN_GRANTS}, grant_requests: { max: ${GRANT_REQUESTS}, per: 10s } }`,
      '',
    ].join('\n');
  brokerEnv = cleanEnv({ JIT_BROKER_STATE_URL: state.url, JIT_TEST_ADMIN_URL: target.adminUrl });
  [brokerA, brokerB] = await Promise.all([startBrokerProcess(ports.a), startBrokerProcess(ports.b)]);
  configA = path.join(dir, 'jit-a.yaml');
  configB = path.join(dir, 'jit-b.yaml');
  await writeFile(configA, cliConfig(brokerA.url));
  await writeFile(configB, cliConfig(brokerB.url));
  for (const who of ['alice', 'bob', 'ci'] as const) {
    const home = path.join(dir, `home-${who}`);
    await mkdir(home, { recursive: true });
    homes[who] = {
      JIT_CONFIG_DIR: home,
      JIT_KEYRING: 'off',
      JIT_AUDIT_DIR: path.join(home, 'audit'),
    };
  }
  await loginAs(idp, configA, cliEnv('bob'), 'bob');
  await loginAs(idp, configB, cliEnv('alice'), 'alice');
}, 120_000);

afterAll(async () => {
  await Promise.all([brokerA?.stop(), brokerB?.stop()]);
  await target?.cleanup();
  await state?.drop();
  await idp?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('jit broker: two replicas, one state database, a real IdP and a real target', () => {
  it('serves health and readiness, and refuses callers without a valid token', async () => {
    expect((await api(brokerA.url, undefined, 'GET', '/healthz')).status).toBe(200);
    expect((await api(brokerB.url, undefined, 'GET', '/readyz')).json).toEqual({ status: 'ready' });
    const none = await api(brokerA.url, undefined, 'POST', '/v1/grants', {
      target: 'test',
      reason: 'x',
      session: 's',
    });
    expect(none.status).toBe(401);
    expect(none.json.error).toBe('no_token');
  });

  it('refuses a token from an untrusted issuer, for another audience, signed by another key, or expired', async () => {
    const claims = { sub: idp.users.bob.sub, email: 'bob@example.com', groups: ['developers'] };
    const request = { target: 'test', reason: 'test', session: 'sess' };
    const untrusted = await idp.signToken(
      { ...claims, iss: 'https://evil.example', aud: idp.clientId },
      { foreignKey: true },
    );
    const otherAudience = await idp.signToken({ ...claims, aud: 'someone-else' });
    const foreignKey = await idp.signToken({ ...claims, aud: idp.clientId }, { foreignKey: true });
    const expired = await idp.signToken({
      ...claims,
      aud: idp.clientId,
      iat: Math.floor(Date.now() / 1000) - 3600,
      exp: Math.floor(Date.now() / 1000) - 600,
    });
    const cases: [string, string][] = [
      [untrusted, 'untrusted_issuer'],
      [otherAudience, 'token_audience'],
      [foreignKey, 'token_signature'],
      [expired, 'token_expired'],
      ['not-a-jwt', 'token_invalid'],
    ];
    for (const [token, code] of cases) {
      const result = await api(brokerA.url, token, 'POST', '/v1/grants', request);
      expect(result.status, code).toBe(401);
      expect(result.json.error).toBe(code);
    }
    // Nothing was created for any of them.
    expect(await stateRows('SELECT id FROM jit_grants')).toEqual([]);
    expect(await jitRoles()).toEqual([]);
  });

  it('gives a CI job its grant at once: the agent works with no admin credential on the machine', async () => {
    const script =
      'env; psql -XAtc "SELECT current_user || \' \' || count(*) FROM customers" ; psql -XAtc "DROP TABLE customers"; true';
    const result = await runJit(['run', '--config', configA, ...ciArgs(), '--', 'sh', '-c', script], {
      env: ciEnv(),
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^jit_ci_service_\w+ 100$|^jit_\S+ 100$/m);
    // The CLI's and the child's environments hold no admin DSN or its password.
    const adminPassword = decodeURIComponent(new URL(target.adminUrl).password);
    expect(JSON.stringify(ciEnv())).not.toContain(target.adminUrl);
    expect(result.stdout).not.toContain(target.adminUrl);
    if (adminPassword.length >= 6) expect(result.stdout).not.toContain(adminPassword);
    // Nor the CI identity: neither the service account's secret nor the variable that held it.
    expect(result.stdout).not.toContain(idp.service.secret);
    expect(result.stdout).not.toMatch(/^CI_SECRET=/m);
    expect(result.stdout).toMatch(/^PGHOST=127\.0\.0\.1$/m);
    // The guard still runs in broker mode: the DROP was blocked.
    expect(result.stderr + result.stdout).toMatch(/42501|no-drop/);
    expect(
      await withClient(
        target.adminUrl,
        async (c) => (await c.query('SELECT count(*)::int AS n FROM customers')).rows[0],
      ),
    ).toEqual({ n: 100 });
    // The broker issued and ended it; the role is gone.
    const grants = await stateRows<{ rule: string; status: string; role: string }>(
      "SELECT rule, status, role FROM jit_grants WHERE rule = 'ci-service'",
    );
    expect(grants).toHaveLength(1);
    expect(grants[0], result.stderr).toMatchObject({ rule: 'ci-service', status: 'revoked' });
    expect(await jitRoles()).toEqual([]);
  });

  it('holds a request that needs approval until another person approves it through the other replica', async () => {
    // bob's CLI talks to replica A; alice approves through replica B.
    const script = [
      'psql -XAtc "SELECT count(*) FROM customers"',
      // Unbounded UPDATE: held by the default policy, decided in the broker's queue.
      'psql -XAtc "UPDATE customers SET name = name || \'\'"',
    ].join('; ');
    const run = startJit(
      ['run', '--config', configA, '--reason', 'fix customer names', '--', 'sh', '-c', script],
      cliEnv('bob'),
    );
    const grantId = await waitFor(
      'the pending request',
      async () => /grant request (g_\S+)/.exec(run.stderr())?.[1],
    );
    expect(run.stderr()).toContain('needs approval by a member of jit-admins');
    // Waiting: no role exists yet.
    expect(await jitRoles()).toEqual([]);

    // The requester cannot approve their own request.
    const own = await runJit(['approve', grantId, '--approve', '--config', configA], { env: cliEnv('bob') });
    expect(own.exitCode).toBe(1);
    expect(own.stderr).toMatch(/not_an_approver|may not approve|cannot approve/i);

    // alice sees it in her queue (replica B) with the reason, and approves it.
    const list = await runJit(['approve', '--list', '--json', '--config', configB], { env: cliEnv('alice') });
    expect(list.exitCode, list.stderr).toBe(0);
    const items = list.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(items).toEqual([
      expect.objectContaining({ id: grantId, kind: 'grant', reason: 'fix customer names' }),
    ]);
    const approvedAt = Date.now();
    const approve = await runJit(['approve', grantId, '--approve', '--reason', 'ok', '--config', configB], {
      env: cliEnv('alice'),
    });
    expect(approve.exitCode, approve.stderr).toBe(0);
    await waitFor('the CLI to see the approval', async () =>
      run.stderr().includes('approved by alice@example.com'),
    );
    // Within about a second of the decision on the other replica (LISTEN/NOTIFY, not polling).
    expect(Date.now() - approvedAt).toBeLessThan(2500);

    // The agent works; its unbounded UPDATE is held in the broker's queue until alice approves it.
    const holdId = await waitFor('the held statement', async () => /hold (h_\S+)\)/.exec(run.stderr())?.[1]);
    const before = await withClient(
      target.adminUrl,
      async (c) =>
        (await c.query("SELECT count(*)::int AS n FROM customers WHERE name LIKE 'name %'")).rows[0],
    );
    expect(before).toEqual({ n: 100 });
    const queue = await runJit(['approve', '--list', '--json', '--config', configB], {
      env: cliEnv('alice'),
    });
    expect(queue.stdout).toContain(holdId);
    expect(queue.stdout).toContain('UPDATE customers SET name');
    const self = await api(brokerA.url, await idToken('bob'), 'POST', `/v1/approvals/${holdId}`, {
      decision: 'approve',
    });
    expect(self.status).toBe(403);
    const ok = await runJit(['approve', holdId, '--approve', '--config', configB], { env: cliEnv('alice') });
    expect(ok.exitCode, ok.stderr).toBe(0);
    const result = await run.child;
    expect(result.exitCode, run.stderr()).toBe(0);
    expect(run.stdout()).toContain('100\nUPDATE 100');
    const grant = (
      await stateRows<{ status: string; decided_by: string; role: string }>(
        'SELECT status, decided_by, role FROM jit_grants WHERE id = $1',
        [grantId],
      )
    )[0];
    expect(grant).toMatchObject({ status: 'revoked', decided_by: 'bob@example.com' });
    expect(await jitRoles()).toEqual([]);
    const hold = (
      await stateRows<{ status: string; decided_by: string }>(
        'SELECT status, decided_by FROM jit_holds WHERE id = $1',
        [holdId],
      )
    )[0];
    expect(hold).toEqual({ status: 'approved', decided_by: 'alice@example.com' });
  });

  it('jit approve at a terminal shows a new request and approves it with a key', async () => {
    const env: Record<string, string> = { ...cliEnv('alice'), LANG: 'C.UTF-8' };
    delete env.CI;
    delete env.GITHUB_ACTIONS;
    const pane = await TmuxPane.start(dir, ['node', JIT_BIN, 'approve', '--config', configB], env, {
      width: 120,
      height: 30,
    });
    try {
      await pane.waitFor(/waiting for approval requests/);
      // bob asks (through replica A) while alice's terminal waits on replica B.
      const request = await api(brokerA.url, await idToken('bob'), 'POST', '/v1/grants', {
        target: 'test',
        reason: 'look at churn',
        session: 'sess-tmux',
      });
      expect(request.status).toBe(202);
      const id = (request.json.grant as { id: string }).id;
      await pane.waitFor(new RegExp(`${id}[\\s\\S]*look at churn[\\s\\S]*\\[a\\]pprove`));
      await pane.type('a');
      await pane.keys('Enter');
      await pane.waitFor(new RegExp(`approved ${id}`));
      await waitFor('the approval', async () => {
        const rows = await stateRows<{ status: string; decided_by: string }>(
          'SELECT status, decided_by FROM jit_grants WHERE id = $1',
          [id],
        );
        return rows[0]?.status === 'approved' && rows[0];
      });
      expect((await stateRows('SELECT decided_by FROM jit_grants WHERE id = $1', [id]))[0]).toEqual({
        decided_by: 'alice@example.com',
      });
      // bob changes his mind: the approved request is cancelled and nothing was issued.
      expect((await api(brokerA.url, await idToken('bob'), 'DELETE', `/v1/grants/${id}`, {})).status).toBe(
        200,
      );
      expect(await jitRoles()).toEqual([]);
    } finally {
      await pane.kill();
    }
  });

  it('never lets the requester approve their own request, even an admin', async () => {
    const token = await idToken('alice');
    const request = await api(brokerA.url, token, 'POST', '/v1/grants', {
      target: 'test',
      reason: 'alice wants in',
      session: 'sess-alice',
    });
    expect(request.status).toBe(202);
    const id = (request.json.grant as { id: string }).id;
    const self = await api(brokerB.url, token, 'POST', `/v1/approvals/${id}`, { decision: 'approve' });
    expect(self.status).toBe(403);
    expect(self.json.error).toBe('self_approval');
    const queue = await api(brokerB.url, token, 'GET', '/v1/approvals');
    expect(queue.json.items).toEqual([]);
    // bob is no approver either.
    const bob = await api(brokerB.url, await idToken('bob'), 'POST', `/v1/approvals/${id}`, {
      decision: 'approve',
    });
    expect(bob.status).toBe(403);
    expect(
      (await stateRows<{ status: string }>('SELECT status FROM jit_grants WHERE id = $1', [id]))[0],
    ).toEqual({ status: 'pending' });
    expect((await api(brokerA.url, token, 'DELETE', `/v1/grants/${id}`, { reason: 'cancel' })).status).toBe(
      200,
    );
  });

  it('caps the open grants of one caller (429 until one ends); jit grants list shows them', async () => {
    const token = await idToken('alice');
    const request = (n: number) => requestGrant(token, 'flood', n);
    const made: string[] = [];
    let refused: Awaited<ReturnType<typeof api>> | undefined;
    for (let n = 0; n <= OPEN_GRANTS && !refused; n++) {
      const answer = await request(n);
      if (answer.status === 202) made.push((answer.json.grant as { id: string }).id);
      else refused = answer;
    }
    const open = () =>
      stateRows<{ n: number }>(
        `SELECT count(*)::int AS n FROM jit_grants
          WHERE requester_sub = (SELECT requester_sub FROM jit_grants WHERE id = $1)
            AND status IN ('pending', 'approved', 'active')`,
        [made[0]],
      );
    try {
      expect(refused?.status).toBe(429);
      expect(refused?.json).toMatchObject({
        error: 'too_many_grants',
        message: expect.stringMatching(/already has 3 open grant\(s\).*limits\.open_grants/),
      });
      expect(await open()).toEqual([{ n: OPEN_GRANTS }]);
      // jit grants list shows them to their requester; everyone's needs a broker admin (alice is one).
      const mine = await runJit(['grants', 'list', '--config', configB, '--target', 'test'], {
        env: cliEnv('alice'),
      });
      expect(mine.exitCode, mine.stderr).toBe(0);
      for (const id of made)
        expect(mine.stdout).toMatch(new RegExp(`^${id}\\s+pending\\s+-\\s+-\\s+flood \\d$`, 'm'));
      const everyone = await runJit(
        ['grants', 'list', '--all', '--json', '--config', configB, '--target', 'test'],
        {
          env: cliEnv('alice'),
        },
      );
      expect((JSON.parse(everyone.stdout) as { id: string }[]).map((g) => g.id)).toEqual(
        expect.arrayContaining(made),
      );
      const bobs = await runJit(['grants', 'list', '--json', '--config', configA, '--target', 'test'], {
        env: cliEnv('bob'),
      });
      expect((JSON.parse(bobs.stdout) as { id: string }[]).map((g) => g.id)).not.toContain(made[0]);
      const notAdmin = await runJit(['grants', 'list', '--all', '--config', configA, '--target', 'test'], {
        env: cliEnv('bob'),
      });
      expect(notAdmin.exitCode).toBe(1);
      expect(notAdmin.stderr).toMatch(
        /^jit: the broker refused: only the broker's admins may list everyone's grants$/m,
      );
      const gc = await runJit(['grants', 'gc', '--config', configB, '--target', 'test'], {
        env: cliEnv('alice'),
      });
      expect(gc.exitCode).toBe(0);
      expect(gc.stdout).toMatch(/broker target: the broker's reaper drops its expired roles/);
      expect(
        await stateRows("SELECT id FROM jit_grants WHERE reason LIKE 'flood %' AND id <> ALL($1)", [made]),
      ).toEqual([]);
      // Ending one makes room for one.
      const first = made.shift() as string;
      expect(
        (await api(brokerA.url, token, 'DELETE', `/v1/grants/${first}`, { reason: 'done' })).status,
      ).toBe(200);
      const again = await request(99);
      expect(again.status).toBe(202);
      made.push((again.json.grant as { id: string }).id);
    } finally {
      for (const id of made) await api(brokerA.url, token, 'DELETE', `/v1/grants/${id}`, { reason: 'done' });
    }
    expect(await open()).toEqual([{ n: 0 }]);
  });

  it('a burst of parallel requests from one caller, to both replicas, cannot pass the cap together', async () => {
    const token = await idToken('alice');
    // Start with none of alice's requests in the rate window, so only the open-grants cap applies.
    const { sub } = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as {
      sub: string;
    };
    await waitFor(
      "alice's earlier requests out of the rate window",
      async () => {
        const [row] = await stateRows<{ n: number }>(
          "SELECT count(*)::int AS n FROM jit_grants WHERE requester_sub = $1 AND created_at > now() - interval '10 seconds'",
          [sub],
        );
        return row?.n === 0;
      },
      20_000,
    );
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, n) =>
        api(n % 2 ? brokerA.url : brokerB.url, token, 'POST', '/v1/grants', {
          target: 'test',
          reason: `parallel ${n}`,
          session: `sess-parallel-${n}`,
        }),
      ),
    );
    const made = answers.filter((a) => a.status === 202).map((a) => (a.json.grant as { id: string }).id);
    try {
      expect(made).toHaveLength(OPEN_GRANTS);
      for (const answer of answers.filter((a) => a.status !== 202)) {
        expect(answer.status).toBe(429);
        expect(['too_many_grants', 'too_many_requests']).toContain(answer.json.error);
      }
      expect(
        await stateRows(
          "SELECT count(*)::int AS n FROM jit_grants WHERE reason LIKE 'parallel %' AND status = 'pending'",
        ),
      ).toEqual([{ n: OPEN_GRANTS }]);
    } finally {
      for (const id of made) await api(brokerA.url, token, 'DELETE', `/v1/grants/${id}`, { reason: 'done' });
    }
  });

  it('limits how often one caller may request grants (429 across replicas; the CLI says when to retry)', async () => {
    const token = await idToken('alice');
    const request = (n: number) => requestGrant(token, 'burst', n);
    const cancel = (id: string) => api(brokerB.url, token, 'DELETE', `/v1/grants/${id}`, { reason: 'done' });
    // Each request is cancelled at once, so the open-grants cap is never what refuses them.
    let accepted = 0;
    let refused: Awaited<ReturnType<typeof api>> | undefined;
    for (let n = 0; n <= GRANT_REQUESTS && !refused; n++) {
      const answer = await request(n);
      if (answer.status !== 202) refused = answer;
      else {
        accepted++;
        await cancel((answer.json.grant as { id: string }).id);
      }
    }
    expect(refused?.status).toBe(429);
    expect(refused?.json).toMatchObject({
      error: 'rate_limited',
      message: expect.stringMatching(
        /made 8 grant request\(s\) in the last 10s, the broker's limit \(limits\.grant_requests\); try again in \d+s$/,
      ),
    });
    // The refused request left nothing behind.
    expect(await stateRows("SELECT count(*)::int AS n FROM jit_grants WHERE reason LIKE 'burst %'")).toEqual([
      { n: accepted },
    ]);
    // The CLI shows the broker's answer and ends without waiting for an approval.
    const cli = await runJit(
      ['run', '--config', configA, '--target', 'test', '--reason', 'one more', '--', 'true'],
      {
        env: cliEnv('alice'),
        timeout: 20_000,
      },
    );
    expect(cli.exitCode).not.toBe(0);
    expect(cli.stderr).toMatch(/^jit: .*limits\.grant_requests.*try again in \d+s/m);
    expect(await stateRows("SELECT count(*)::int AS n FROM jit_grants WHERE reason = 'one more'")).toEqual([
      { n: 0 },
    ]);
    // Once the window has passed, requests are accepted again (later tests rely on that too).
    const again = await waitFor(
      'a request accepted after the window',
      async () => {
        const answer = await request(100);
        if (answer.status === 202) return answer;
        expect(answer.json).toMatchObject({ error: 'rate_limited' });
        await new Promise((r) => setTimeout(r, 1_000));
        return undefined;
      },
      20_000,
    );
    await cancel((again.json.grant as { id: string }).id);
  });

  it('revoking a grant closes the running session and drops the role', async () => {
    const { proxy, url } = await startCiProxy();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    expect((await client.query('SELECT count(*)::int AS n FROM customers')).rows[0]).toEqual({ n: 100 });
    const role = decodeURIComponent(new URL(url).username);
    const grant = (
      await stateRows<{ id: string }>("SELECT id FROM jit_grants WHERE status = 'active' AND role = $1", [
        role,
      ])
    )[0];
    expect(grant).toBeDefined();
    // An admin (alice) revokes it through replica B, with `jit grants revoke`.
    const revoked = await runJit(
      ['grants', 'revoke', grant?.id ?? '', '--reason', 'incident', '--config', configB],
      { env: cliEnv('alice') },
    );
    expect(revoked.exitCode, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`revoked ${grant?.id} (role ${role}) through the broker`);
    const exit = await proxy.child;
    // The session was told why, and its connections closed.
    expect(proxy.stderr()).toContain('revoked by alice@example.com: incident');
    expect(exit.exitCode).not.toBeNull();
    await waitFor(
      'the client to be disconnected',
      async () => errors.length > 0 || (client as unknown as { _ending: boolean })._ending,
    );
    await expect(client.query('SELECT 1')).rejects.toThrow();
    await client.end().catch(() => {});
    expect(await jitRoles()).not.toContain(role);
  });

  it("reaps a killed CLI's role once its heartbeats stop", async () => {
    const { proxy, url } = await startCiProxy();
    const role = decodeURIComponent(new URL(url).username);
    expect(await jitRoles()).toContain(role);
    proxy.child.kill('SIGKILL');
    await proxy.child;
    const killedAt = Date.now();
    // The role goes first (in the target), then the reaper's state transaction commits.
    const grant = await waitFor(
      'the reaper',
      async () =>
        (
          await stateRows<{ status: string; decided_by: string; decision_reason: string }>(
            "SELECT status, decided_by, decision_reason FROM jit_grants WHERE role = $1 AND status <> 'active'",
            [role],
          )
        )[0],
      (HEARTBEAT_TIMEOUT_S + 15) * 1000,
    );
    expect(Date.now() - killedAt).toBeGreaterThan(1000);
    expect(await jitRoles()).not.toContain(role);
    expect(grant).toMatchObject({ status: 'revoked', decided_by: 'reaper' });
    expect(grant?.decision_reason).toMatch(/no heartbeat/);
  });

  it('audit records sent while the broker was down arrive exactly once', async () => {
    const { proxy, url } = await startCiProxy();
    const client = new pg.Client({ connectionString: url });
    const clientErrors: string[] = [];
    client.on('error', (error) =>
      clientErrors.push(`${(error as { code?: string }).code}: ${error.message}`),
    );
    await client.connect();
    await client.query('SELECT 1 AS before_outage');
    // Let the first records reach the broker, then take replica A down.
    await new Promise((r) => setTimeout(r, 1500));
    await brokerA.stop();
    for (let i = 0; i < 5; i++) {
      await client.query(`SELECT ${i} AS during_outage`).catch((error: Error) => {
        throw new Error(
          `${error.message} (${clientErrors.join('; ')}) at ${new Date().toISOString()}; jit: ${proxy.stderr()}`,
        );
      });
    }
    await client.end();
    proxy.child.kill('SIGTERM');
    await proxy.child;
    expect(proxy.stderr()).toContain('could not reach the broker');
    const auditDir = homes.ci.JIT_AUDIT_DIR as string;
    const files = (await readdir(auditDir)).filter((f) => f.endsWith('.jsonl.unsent'));
    expect(files).toHaveLength(1);
    const file = path.join(auditDir, (files[0] as string).replace(/\.unsent$/, ''));
    const local = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { hash: string; session: string });
    const session = local[0]?.session as string;
    const stored = async () =>
      Number(
        (
          await stateRows<{ n: string }>('SELECT count(*) AS n FROM jit_audit WHERE session = $1', [session])
        )[0]?.n,
      );
    expect(await stored()).toBeLessThan(local.length);

    // The broker comes back; the CI job's next session sends what is missing, and only that.
    brokerA = await startBrokerProcess(ports.a);
    const missing = local.length - (await stored());
    const next = await runJit(['run', '--config', configA, ...ciArgs(), '--', 'true'], { env: ciEnv() });
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.stderr).toContain(`sent ${missing} audit record(s) that earlier sessions could not deliver`);
    expect(await stored()).toBe(local.length);
    const hashes = await stateRows<{ hash: string }>(
      'SELECT hash FROM jit_audit WHERE session = $1 ORDER BY seq',
      [session],
    );
    expect(hashes.map((h) => h.hash)).toEqual(local.map((r) => r.hash));
    expect((await readdir(auditDir)).filter((f) => f.endsWith('.unsent'))).toEqual([]);
    // `jit audit push` finds nothing left to send; pushing the file by name changes nothing.
    const push = await runJit(['audit', 'push', '--config', configA, ...ciArgs()], { env: ciEnv() });
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain('nothing to push');
    const again = await runJit(['audit', 'push', file, '--config', configA, ...ciArgs()], { env: ciEnv() });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await stored()).toBe(local.length);
    // The grant the dead broker could not end is reaped once heartbeats are missed.
    await waitFor(
      'the reaper',
      async () => (await jitRoles()).length === 0,
      (HEARTBEAT_TIMEOUT_S + 15) * 1000,
    );
  });

  it('stores the chain verified: altered, forged or foreign records are refused', async () => {
    const [stored] = await stateRows<{ line: string }>(
      'SELECT line FROM jit_audit ORDER BY received_at DESC LIMIT 1',
    );
    const record = JSON.parse(stored?.line as string) as Record<string, unknown>;
    const bob = await idToken('bob');
    // Someone else's record: refused.
    const foreign = await api(brokerA.url, bob, 'POST', '/v1/audit', { records: [record] });
    expect(foreign.status).toBe(403);
    // An altered record: refused.
    const altered = { ...record, sql: 'SELECT 42' };
    const ci = await idToken('alice');
    const forged = await api(brokerA.url, ci, 'POST', '/v1/audit', { records: [altered] });
    expect([400, 403]).toContain(forged.status);
    expect(await stateRows('SELECT 1 FROM jit_audit WHERE line LIKE $1', ['%SELECT 42%'])).toEqual([]);
    // The table itself is append-only.
    await expect(stateRows('DELETE FROM jit_audit')).rejects.toThrow(/append-only/);
  });

  it('jit doctor checks that the broker answers (and says so when it does not)', async () => {
    const good = await runJit(['doctor', '--config', configA], { env: cliEnv('bob') });
    expect(good.stdout + good.stderr).toMatch(/^ok +broker: https:\/\/\S+ is ready$/m);
    const bad = path.join(dir, 'jit-nobroker.yaml');
    await writeFile(bad, cliConfig(`https://127.0.0.1:${await freePort()}`));
    const down = await runJit(['doctor', '--config', bad], { env: cliEnv('bob') });
    expect(down.exitCode).toBe(1);
    expect(down.stdout + down.stderr).toMatch(
      /^fail +broker: .*cannot reach the broker at https:\/\/127.0.0.1:\d+ \(ECONNREFUSED\)/m,
    );
  });

  it('jit audit show --broker: admins query anyone, others only themselves', async () => {
    const mine = await runJit(['audit', 'show', '--broker', '--json', '--config', configA], {
      env: cliEnv('bob'),
    });
    expect(mine.exitCode, mine.stderr).toBe(0);
    const records = mine.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { identity: { sub: string }; kind: string });
    expect(records.length).toBeGreaterThan(0);
    expect(new Set(records.map((r) => r.identity.sub))).toEqual(new Set([idp.users.bob.sub]));
    const other = await runJit(
      ['audit', 'show', '--broker', '--sub', idp.service.clientId, '--config', configA],
      {
        env: cliEnv('bob'),
      },
    );
    expect(other.exitCode).toBe(1);
    const admin = await runJit(
      [
        'audit',
        'show',
        '--broker',
        '--json',
        '--sub',
        idp.service.clientId,
        '--decision',
        'blocked',
        '--config',
        configB,
      ],
      { env: cliEnv('alice') },
    );
    expect(admin.exitCode, admin.stderr).toBe(0);
    const blocked = admin.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { rule: string; decision: string });
    expect(blocked).toEqual([expect.objectContaining({ decision: 'blocked', rule: 'no-drop' })]);
  });
});
