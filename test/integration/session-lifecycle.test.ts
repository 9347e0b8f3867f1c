import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { withClient } from '../helpers/db.js';
import type { TestTarget } from '../helpers/jit.js';
import { cleanEnv, createTarget, JIT_BIN, runJit, startProxy } from '../helpers/jit.js';
import { listSockets } from '../../src/control/paths.js';

const serverAdminUrl = inject('adminUrl');
let target: TestTarget;
let work: string;

beforeAll(async () => {
  target = await createTarget(serverAdminUrl);
  work = await mkdtemp(path.join(tmpdir(), 'jit-life-'));
});

afterAll(async () => {
  await target?.cleanup();
  await rm(work, { recursive: true, force: true });
});

async function jitRoles(): Promise<{ rolname: string; comment: string | null; expired: boolean }[]> {
  return withClient(
    target.adminUrl,
    async (c) =>
      (
        await c.query(
          `SELECT r.rolname, shobj_description(r.oid, 'pg_authid') AS comment, r.rolvaliduntil < now() AS expired
           FROM pg_roles r JOIN pg_auth_members am ON am.member = r.oid JOIN pg_roles m ON m.oid = am.roleid
          WHERE r.rolname LIKE 'jit\\_%' AND m.rolname = $1`,
          [target.memberRole],
        )
      ).rows,
  );
}

async function waitFor(file: string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const text = await readFile(file, 'utf8');
      if (text.length > 0) return text;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function expectOneLineError(stderr: string, pattern: RegExp): void {
  expect(stderr).toMatch(/^jit: /);
  expect(stderr).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('jit run', () => {
  it('gives the child only proxy settings: no admin or upstream secret in its real environment', async () => {
    const pidFile = path.join(work, 'child.pid');
    const adminPassword = new URL(target.adminUrl).password;
    const run = execa(
      'node',
      [
        JIT_BIN,
        'run',
        '--config',
        target.configPath,
        '--',
        'node',
        '-e',
        `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setTimeout(() => {}, 60000)`,
      ],
      {
        env: {
          ...target.env,
          PGPASSWORD: 'inherited-pg-password',
          PGSERVICEFILE: '/etc/pg_service.conf',
          DATABASE_URL: 'postgres://someone:inherited@db.example.com/prod',
          POSTGRES_URL: 'postgres://someone:inherited2@db.example.com/prod',
          SOME_TOOL_CONFIG: `uses ${adminPassword} inside`,
          KEEP_ME: 'yes',
        },
        extendEnv: false,
        reject: false,
      },
    );
    const pid = Number(await waitFor(pidFile));
    const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0').filter(Boolean);
    const env = Object.fromEntries(
      environ.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );

    expect(env.PGHOST).toBe('127.0.0.1');
    expect(env.PGSSLMODE).toBe('disable');
    expect(env.PGUSER).toMatch(/^jit_/);
    expect(env.PGDATABASE).toBe(target.database);
    expect(env.PGPASSWORD).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(env.DATABASE_URL).toBe(
      `postgres://${env.PGUSER}:${env.PGPASSWORD}@127.0.0.1:${env.PGPORT}/${target.database}?sslmode=disable`,
    );
    expect(env.JIT_SESSION).toMatch(/^[0-9a-f]{12}$/);
    expect(Date.parse(env.JIT_GRANT_EXPIRES_AT as string)).toBeGreaterThan(Date.now());
    expect(env.KEEP_ME).toBe('yes');
    for (const gone of ['JIT_ADMIN_URL', 'PGSERVICEFILE', 'POSTGRES_URL', 'SOME_TOOL_CONFIG'])
      expect(env[gone], gone).toBeUndefined();
    const everything = environ.join('\n') + (await readFile(`/proc/${pid}/cmdline`, 'utf8'));
    expect(everything).not.toContain(adminPassword);
    expect(everything).not.toContain('inherited');
    expect(everything).not.toContain(target.adminUrl);

    // The role exists now, marked with the session, and the one-time password is not the role's.
    const during = await jitRoles();
    expect(during.map((r) => r.rolname)).toContain(env.PGUSER);
    expect(during.find((r) => r.rolname === env.PGUSER)?.comment).toContain(`session=${env.JIT_SESSION}`);
    const direct = new pg.Client({
      host: '127.0.0.1',
      port: target.port,
      user: env.PGUSER,
      password: env.PGPASSWORD,
      database: target.database,
    });
    await expect(direct.connect()).rejects.toMatchObject({ code: '28P01' });

    // SIGTERM to jit reaches the child; jit exits 128+15 and drops the role.
    run.kill('SIGTERM');
    const result = await run;
    expect(result.exitCode).toBe(143);
    // No terminal: jit's own output is JSON events (CI mode); the last says how it ended.
    expect(result.stderr).toMatch(/"type":"ended".*"reason":"[^"]*; role dropped"/);
    expect((await jitRoles()).map((r) => r.rolname)).not.toContain(env.PGUSER);
  });

  it("propagates the child's exit code and reports a missing command in one line", async () => {
    const seven = await runJit(
      ['run', '--config', target.configPath, '--', 'sh', '-c', 'psql -X -Atc "select 41+1" && exit 7'],
      {
        env: target.env,
      },
    );
    expect(seven.stdout).toBe('42');
    expect(seven.exitCode).toBe(7);

    const missing = await runJit(['run', '--config', target.configPath, '--', 'no-such-command-xyz'], {
      env: target.env,
    });
    expect(missing.exitCode).toBe(1);
    expectOneLineError(
      missing.stderr
        .split('\n')
        .filter((l) => !l.startsWith('{'))
        .join('\n'),
      /command not found: no-such-command-xyz/,
    );
    expect(await jitRoles()).toEqual([]);
  });

  it('hang-ups while it cleans up after the command do not cut the cleanup short', async () => {
    // The terminal going away as the command exits: SIGHUP after SIGHUP, from before the command
    // ends until jit is gone. Each must leave jit to drop the role and remove its socket.
    const runtime = path.join(work, 'hup-run');
    const script = [
      "trap '' HUP",
      'jit=$PPID',
      '( while kill -HUP "$jit" 2>/dev/null; do sleep 0.01; done ) >/dev/null 2>&1 &',
      'sleep 0.3',
      'exit 5',
    ].join('\n');
    const result = await runJit(['run', '--config', target.configPath, '--', 'sh', '-c', script], {
      env: { ...target.env, JIT_RUNTIME_DIR: runtime },
    });
    expect(result.stderr).toMatch(/"type":"ended".*"reason":"the command exited; role dropped"/);
    expect(result.stderr).toMatch(/"type":"summary"/);
    // Node gives signals their default action back while the process tears down, so the last
    // hang-ups can still end it as killed, but only once everything is done.
    if (result.signal === undefined) expect(result.exitCode).toBe(5);
    else expect(result.signal).toBe('SIGHUP');
    expect(await jitRoles()).toEqual([]);
    expect(await listSockets(runtime)).toEqual([]);
  });

  it('closes live connections with FATAL 57P01 at expiry; the child keeps running but cannot reconnect', async () => {
    const script = path.join(work, 'expiry-agent.cjs');
    await writeFile(
      script,
      `const pg = require(${JSON.stringify(createRequire(import.meta.url).resolve('pg'))});
       (async () => {
         const c = new pg.Client();
         const lost = new Promise((resolve) => c.on('error', (e) => resolve({ code: e.code, message: e.message })));
         await c.connect();
         await c.query('select 1');
         const error = await lost;
         let reconnect;
         try { const d = new pg.Client(); await d.connect(); reconnect = 'connected'; await d.end(); }
         catch (e) { reconnect = { code: e.code, message: e.message }; }
         console.log(JSON.stringify({ error, reconnect }));
       })();`,
    );
    const started = Date.now();
    const result = await runJit(
      ['run', '--config', target.configPath, '--ttl', '10s', '--', 'node', script],
      {
        env: target.env,
        timeout: 40_000,
      },
    );
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as {
      error: { code: string; message: string };
      reconnect: { code: string; message: string };
    };
    expect(report.error.code).toBe('57P01');
    expect(report.error.message).toContain('expired');
    expect(report.reconnect.code).toBe('57P01');
    expect(Date.now() - started).toBeGreaterThanOrEqual(10_000);
    expect(result.stderr).toContain('the grant expired');
    expect(await jitRoles()).toEqual([]);
  });
});

describe('jit proxy lifecycle and jit grants', () => {
  it('a killed jit leaves a role that VALID UNTIL locks out, and jit grants gc removes it', async () => {
    const proxy = await startProxy(target, ['--ttl', '10s']);
    const role = proxy.user;
    proxy.process.kill('SIGKILL');
    await proxy.process;
    const left = await jitRoles();
    expect(left.map((r) => r.rolname)).toContain(role);

    // Give the role a password we know, then wait past VALID UNTIL: the server itself refuses it.
    await withClient(target.adminUrl, (c) => c.query(`ALTER ROLE ${role} PASSWORD 'known-password'`));
    const before = new pg.Client({
      host: '127.0.0.1',
      port: target.port,
      user: role,
      password: 'known-password',
      database: target.database,
    });
    await before.connect();
    await before.end();
    const gcEarly = await runJit(['grants', 'gc', '--config', target.configPath], { env: target.env });
    expect(gcEarly.stdout).not.toContain(role);

    await new Promise((r) => setTimeout(r, 11_000));
    const after = new pg.Client({
      host: '127.0.0.1',
      port: target.port,
      user: role,
      password: 'known-password',
      database: target.database,
    });
    await expect(after.connect()).rejects.toMatchObject({ code: '28P01' });

    const list = await runJit(['grants', 'list', '--config', target.configPath, '--json'], {
      env: target.env,
    });
    const listed = JSON.parse(list.stdout) as { role: string; expired: boolean }[];
    expect(listed.find((g) => g.role === role)?.expired).toBe(true);

    const gc = await runJit(['grants', 'gc', '--config', target.configPath], { env: target.env });
    expect(gc.exitCode).toBe(0);
    expect(gc.stdout).toContain(`dropped ${role}`);
    expect((await jitRoles()).map((r) => r.rolname)).not.toContain(role);
  });

  it('jit grants revoke ends a running session: its clients get FATAL, the role is dropped', async () => {
    const proxy = await startProxy(target);
    const client = new pg.Client({ connectionString: proxy.url });
    await client.connect();
    const lost = new Promise<{ code?: string }>((resolve) =>
      client.on('error', (e) => resolve(e as { code?: string; message?: string })),
    );
    await client.query('select 1');
    const revoke = await runJit(['grants', 'revoke', proxy.user, '--config', target.configPath], {
      env: target.env,
    });
    expect(revoke.exitCode).toBe(0);
    expect(revoke.stdout).toContain(`revoked ${proxy.user}`);
    expect((await lost).code).toBe('57P01');
    expect((await jitRoles()).map((r) => r.rolname)).not.toContain(proxy.user);
    // New connections now fail at the upstream: the role is gone.
    const again = new pg.Client({ connectionString: proxy.url });
    await expect(again.connect()).rejects.toBeTruthy();
    await proxy.stop();
  });

  it('Ctrl-C (SIGINT) on jit proxy closes connections and drops the role', async () => {
    const proxy = await startProxy(target);
    const client = new pg.Client({ connectionString: proxy.url });
    await client.connect();
    const lost = new Promise<{ code?: string; message?: string }>((resolve) =>
      client.on('error', (e) => resolve(e as { code?: string; message?: string })),
    );
    proxy.process.kill('SIGINT');
    const result = await proxy.process;
    expect(result.exitCode).toBe(0);
    expect((await lost).code).toBe('57P01');
    expect((await jitRoles()).map((r) => r.rolname)).not.toContain(proxy.user);
  });

  it('impatient Ctrl-C, SIGTERM and SIGHUP one after another still let it drop the role', async () => {
    const proxy = await startProxy(target);
    const client = new pg.Client({ connectionString: proxy.url });
    client.on('error', () => {});
    await client.connect();
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    for (let i = 0; i < 30 && proxy.process.exitCode === null; i++) {
      proxy.process.kill(signals[i % 3]);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const result = await proxy.process;
    expect(proxy.stderr()).toMatch(/"reason":"ended by a signal; role dropped"/);
    if (result.signal === undefined) expect(result.exitCode).toBe(0);
    expect(await jitRoles()).toEqual([]);
  });
});

describe('clear errors', () => {
  it('missing admin credential', async () => {
    const result = await runJit(['run', '--config', target.configPath, '--', 'true'], { env: cleanEnv() });
    expect(result.exitCode).toBe(1);
    expectOneLineError(result.stderr, /JIT_ADMIN_URL/);
  });

  it('grants list --all on a direct target: it is for broker targets', async () => {
    const result = await runJit(['grants', 'list', '--all', '--config', target.configPath], {
      env: target.env,
    });
    expect(result.exitCode).toBe(1);
    expectOneLineError(result.stderr, /`--all` is for broker targets/);
  });

  it('no config file', async () => {
    const result = await runJit(['proxy'], { env: cleanEnv(), cwd: work });
    expect(result.exitCode).toBe(1);
    expectOneLineError(result.stderr, /jit\.yaml/);
  });

  it('unreachable upstream', async () => {
    const bad = { ...target.env, JIT_ADMIN_URL: target.adminUrl.replace(`:${target.port}/`, ':1/') };
    const result = await runJit(['run', '--config', target.configPath, '--', 'true'], { env: bad });
    expect(result.exitCode).toBe(1);
    expectOneLineError(result.stderr, /cannot reach PostgreSQL at 127\.0\.0\.1:1 \(ECONNREFUSED\)/);
    expect(result.stderr).not.toContain(new URL(target.adminUrl).password);
  });

  it('Ctrl-C while the grant is being issued cancels it: one line, exit 130, the command never runs', async () => {
    // A server that accepts and never answers: the grant request waits on it.
    const silent = net.createServer(() => {});
    const connected = new Promise<void>((resolve) => silent.once('connection', () => resolve()));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const audit = path.join(work, 'cancelled.jsonl');
      const marker = path.join(work, 'cancelled-ran');
      const env = { ...target.env, JIT_ADMIN_URL: target.adminUrl.replace(`:${target.port}/`, `:${port}/`) };
      const run = runJit(
        ['run', '--config', target.configPath, '--audit-log', audit, '--', 'touch', marker],
        {
          env,
        },
      );
      await connected;
      const sent = Date.now();
      run.kill('SIGINT');
      const result = await run;
      expect(Date.now() - sent).toBeLessThan(5_000);
      expect(result.exitCode).toBe(130);
      expectOneLineError(
        result.stderr,
        /^jit: SIGINT: cancelled before the session started; no role was left behind$/m,
      );
      await expect(readFile(marker)).rejects.toMatchObject({ code: 'ENOENT' });
      const records = (await readFile(audit, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { kind: string; reason?: string });
      expect(records.map((r) => r.kind)).toEqual(['session_start', 'session_end']);
      expect(records[1]?.reason).toBe('grant failed');
    } finally {
      silent.close();
    }
  });

  it('admin without CREATEROLE', async () => {
    const weak = `weak_${target.database}`;
    await withClient(target.adminUrl, (c) => c.query(`CREATE ROLE ${weak} LOGIN PASSWORD 'weak-pass'`));
    try {
      const url = new URL(target.adminUrl);
      url.username = weak;
      url.password = 'weak-pass';
      const result = await runJit(['run', '--config', target.configPath, '--', 'true'], {
        env: { ...target.env, JIT_ADMIN_URL: url.toString() },
      });
      expect(result.exitCode).toBe(1);
      expectOneLineError(result.stderr, /CREATEROLE/);
    } finally {
      await withClient(target.adminUrl, (c) => c.query(`DROP ROLE ${weak}`));
    }
  });

  it('an audit log that cannot be created: one line, before any grant, no hang', async () => {
    const result = await runJit(
      ['run', '--config', target.configPath, '--audit-log', '/proc/nope/audit.jsonl', '--', 'true'],
      {
        env: target.env,
        timeout: 20_000,
      },
    );
    expect(result.exitCode).toBe(1);
    expectOneLineError(result.stderr, /cannot open the audit log \/proc\/nope\/audit\.jsonl/);
    expect(result.stderr).toContain('--audit-log');
    expect(await jitRoles()).toEqual([]);
  });

  it('--ttl above max_ttl', async () => {
    const result = await runJit(['run', '--config', target.configPath, '--ttl', '5h', '--', 'true'], {
      env: target.env,
    });
    expect(result.exitCode).toBe(1);
    expectOneLineError(result.stderr, /exceeds max_ttl 1h/);
  });
});
