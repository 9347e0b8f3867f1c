import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';

/** Mirrors the target's `tls:` mapping in jit.yaml. */
export interface TlsSetting {
  mode: 'disable' | 'require' | 'verify-ca' | 'verify-full';
  ca?: string;
}

/** A database with a member role (owner of `customers`) on a TLS-only server. */
export interface TlsDatabase {
  database: string;
  memberRole: string;
}

/**
 * Creates the database and member role over a connection that trusts `ca` (the server accepts TLS
 * only). `adminUrl` names the `postgres` database of the server.
 */
export async function createTlsDatabase(adminUrl: string, ca: string): Promise<TlsDatabase> {
  const hex = randomBytes(4).toString('hex');
  const database = `jit_tls_${hex}`;
  const memberRole = `app_tls_${hex}`;
  const ssl = { ca, rejectUnauthorized: true };
  const server = new pg.Client({ connectionString: adminUrl, ssl });
  await server.connect();
  try {
    await server.query(`CREATE DATABASE ${database}`);
    await server.query(`CREATE ROLE ${memberRole} NOLOGIN`);
  } finally {
    await server.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const db = new pg.Client({ connectionString: url.toString(), ssl });
  await db.connect();
  try {
    await db.query(`GRANT ALL ON SCHEMA public TO ${memberRole}`);
    await db.query(`CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL)`);
    await db.query(`INSERT INTO customers (name) SELECT 'name ' || g FROM generate_series(1, 3) g`);
    await db.query(`ALTER TABLE customers OWNER TO ${memberRole}`);
  } finally {
    await db.end();
  }
  return { database, memberRole };
}

/** Writes `<dir>/<name>.yaml`: one direct-mode target `tls` reaching `host:port`; returns its path. */
export async function writeTlsConfig(
  dir: string,
  name: string,
  opts: { host: string; port: number; db: TlsDatabase; tls: TlsSetting },
): Promise<string> {
  const tls =
    opts.tls.ca === undefined
      ? opts.tls.mode
      : `{ mode: ${opts.tls.mode}, ca: ${JSON.stringify(opts.tls.ca)} }`;
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(
    file,
    [
      'identity: os-user',
      'targets:',
      '  tls:',
      `    upstream: postgres://${opts.host}:${opts.port}/${opts.db.database}`,
      `    tls: ${tls}`,
      '    grant:',
      '      via: direct',
      '      admin_url_env: JIT_ADMIN_URL',
      `      roles: [${opts.db.memberRole}]`,
      '      ttl: 10m',
      '      max_ttl: 1h',
      '      connection_limit: 10',
      '',
    ].join('\n'),
  );
  return file;
}
