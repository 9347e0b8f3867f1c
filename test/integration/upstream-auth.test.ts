/**
 * The proxy's upstream login with pg_hba's `password` method (cleartext over the wire), against
 * a private PostgreSQL: the temporary role is a member of `clear_members`, which pg_hba sends to
 * `password`; everything else uses scram-sha-256. (`md5` cannot occur for jit's roles: jit stores
 * a SCRAM verifier, and PostgreSQL then negotiates SCRAM even where pg_hba says md5.)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../helpers/db.js';
import { cleanEnv, runJit } from '../helpers/jit.js';
import type { PrivatePostgres } from '../helpers/private-postgres.js';
import { startPrivatePostgres } from '../helpers/private-postgres.js';

let dir: string;
let server: PrivatePostgres;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'jit-upauth-'));
  server = await startPrivatePostgres({
    dir,
    name: 'data',
    flags: ['-c', 'log_connections=on'],
    pgHba: [
      'local all all trust',
      'host all +clear_members 127.0.0.1/32 password',
      'host all all 127.0.0.1/32 scram-sha-256',
      '',
    ].join('\n'),
  });
  await withClient(server.adminUrl(), async (c) => {
    await c.query('CREATE ROLE clear_members NOLOGIN');
    await c.query('GRANT pg_read_all_data TO clear_members');
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('upstream authentication methods', () => {
  it('logs in upstream with a cleartext password when pg_hba asks for it', async () => {
    const configPath = path.join(dir, 'jit.yaml');
    await writeFile(
      configPath,
      [
        'identity: os-user',
        'targets:',
        '  clear:',
        `    upstream: postgres://127.0.0.1:${server.port}/postgres`,
        '    tls: disable',
        '    grant: { via: direct, admin_url_env: JIT_ADMIN_URL, roles: [clear_members], ttl: 5m }',
        '',
      ].join('\n'),
    );
    const result = await runJit(
      [
        'run',
        '--config',
        configPath,
        '--audit-log',
        path.join(dir, 'audit.jsonl'),
        '--',
        'psql',
        '-X',
        '-Atc',
        'select current_user',
      ],
      { env: cleanEnv({ JIT_ADMIN_URL: server.adminUrl() }) },
    );
    expect(result.stderr).not.toMatch(/FATAL|ERROR/);
    expect(result.exitCode).toBe(0);
    const role = result.stdout.trim();
    expect(role).toMatch(/^jit_/);
    // The server says which method authenticated the role: the cleartext path was really taken.
    expect(server.log()).toMatch(new RegExp(`connection authenticated: identity="${role}" method=password`));
  });
});
