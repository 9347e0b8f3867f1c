import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResultPromise } from 'execa';
import { execa } from 'execa';
import { createTestDatabase, withClient } from './db.js';

/** Absolute path of the built CLI entry point. */
export const JIT_BIN = fileURLToPath(new URL('../../bin/jit.js', import.meta.url));

/** A database with a member role and a table, plus a jit.yaml pointing at it. */
export interface TestTarget {
  dir: string;
  configPath: string;
  database: string;
  /** Superuser DSN of the test database (what JIT_ADMIN_URL holds). */
  adminUrl: string;
  memberRole: string;
  port: number;
  /** Environment for running jit: JIT_ADMIN_URL set, inherited PG* cleared. */
  env: Record<string, string>;
  cleanup: () => Promise<void>;
}

/** Extra target settings written into jit.yaml. */
export interface TargetSettings {
  ttl?: string;
  maxTtl?: string;
  tls?: string;
  connectionLimit?: number;
  upstreamPort?: number;
  /** `identity: oidc` with this `oidc:` section instead of `identity: os-user`. */
  oidc?: { issuer: string; clientId: string; ca?: string; audience?: string; ciIssuers?: string[] };
}

/** Makes a fresh database + member role (owner of a `customers` table) and a config for it. */
export async function createTarget(
  serverAdminUrl: string,
  settings: TargetSettings = {},
): Promise<TestTarget> {
  const db = await createTestDatabase(serverAdminUrl, 'jit');
  const memberRole = `app_${randomBytes(4).toString('hex')}`;
  await withClient(serverAdminUrl, (c) => c.query(`CREATE ROLE ${memberRole} NOLOGIN`));
  await withClient(db.url, async (c) => {
    await c.query(`GRANT ALL ON SCHEMA public TO ${memberRole}`);
    await c.query(`CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text)`);
    await c.query(
      `INSERT INTO customers (name, email) SELECT 'name ' || g, 'user' || g || '@example.com' FROM generate_series(1, 100) g`,
    );
    await c.query(`ALTER TABLE customers OWNER TO ${memberRole}`);
  });
  const dir = await mkdtemp(path.join(tmpdir(), 'jit-test-'));
  const port = settings.upstreamPort ?? Number(new URL(serverAdminUrl).port);
  const configPath = path.join(dir, 'jit.yaml');
  await writeFile(
    configPath,
    [
      ...identityLines(settings.oidc),
      'targets:',
      '  test:',
      `    upstream: postgres://127.0.0.1:${port}/${db.name}`,
      `    tls: ${settings.tls ?? 'disable'}`,
      '    grant:',
      '      via: direct',
      '      admin_url_env: JIT_ADMIN_URL',
      `      roles: [${memberRole}]`,
      `      ttl: ${settings.ttl ?? '10m'}`,
      `      max_ttl: ${settings.maxTtl ?? '1h'}`,
      `      connection_limit: ${settings.connectionLimit ?? 100}`,
      '',
    ].join('\n'),
  );
  return {
    dir,
    configPath,
    database: db.name,
    adminUrl: db.url,
    memberRole,
    port,
    env: cleanEnv({ JIT_ADMIN_URL: db.url }),
    cleanup: async () => {
      await db.drop();
      await withClient(serverAdminUrl, (c) => c.query(`DROP ROLE IF EXISTS ${memberRole}`)).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function identityLines(oidc: TargetSettings['oidc']): string[] {
  if (!oidc) return ['identity: os-user'];
  return [
    'identity: oidc',
    'oidc:',
    `  issuer: ${oidc.issuer}`,
    `  client_id: ${oidc.clientId}`,
    ...(oidc.ca ? [`  ca: ${oidc.ca}`] : []),
    ...(oidc.audience ? [`  audience: ${oidc.audience}`] : []),
    ...(oidc.ciIssuers ? [`  ci_issuers: [${oidc.ciIssuers.join(', ')}]`] : []),
  ];
}

/** The test process's environment without any PG, JIT or Actions OIDC variables, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('PG') || k.startsWith('JIT_') || k === 'DATABASE_URL') continue;
    // A GitHub Actions runner's own OIDC token request must not become the tests' identity.
    if (k.startsWith('ACTIONS_ID_TOKEN_')) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** Runs the built jit to completion. */
export function runJit(
  args: string[],
  options: { env: Record<string, string>; cwd?: string; timeout?: number },
) {
  return execa('node', [JIT_BIN, ...args], {
    env: options.env,
    extendEnv: false,
    cwd: options.cwd,
    reject: false,
    timeout: options.timeout ?? 60_000,
  });
}

/** A running `jit proxy`. */
export interface RunningProxy {
  url: string;
  /** Parsed parts of the URL. */
  user: string;
  password: string;
  port: number;
  process: ResultPromise;
  stderr: () => string;
  /** Sends SIGTERM and waits for exit; returns the exit code. */
  stop: () => Promise<number | undefined>;
}

/** Starts `jit proxy` for a target and waits for its URL line. */
export async function startProxy(target: TestTarget, extraArgs: string[] = []): Promise<RunningProxy> {
  const child = execa('node', [JIT_BIN, 'proxy', '--config', target.configPath, ...extraArgs], {
    env: target.env,
    extendEnv: false,
    reject: false,
    buffer: false,
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`jit proxy printed no URL in 30s; stderr: ${stderr}`)),
      30_000,
    );
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('postgres://'));
      if (line) {
        clearTimeout(timer);
        resolve(line.trim());
      }
    });
    void child.then((r) => {
      clearTimeout(timer);
      reject(new Error(`jit proxy exited (${r.exitCode}) before printing a URL; stderr: ${stderr}`));
    });
  });
  const parsed = new URL(url);
  return {
    url,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    port: Number(parsed.port),
    process: child,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const result = await child;
      return result.exitCode;
    },
  };
}
