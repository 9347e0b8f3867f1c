import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { withClient } from '../helpers/db.js';
import type { RunningProxy, TestTarget } from '../helpers/jit.js';
import { cleanEnv, createTarget, runJit, startProxy } from '../helpers/jit.js';
import { msg, RawClient } from '../helpers/raw-client.js';

const serverAdminUrl = inject('adminUrl');
let target: TestTarget;
let proxy: RunningProxy;
let work: string;
let auditFile: string;

function psql(sql: string, extra: string[] = []) {
  return execa('psql', ['-X', '-At', proxy.url, ...extra, '-c', sql], {
    env: cleanEnv(),
    extendEnv: false,
    reject: false,
    timeout: 30_000,
  });
}

function psqlScript(script: string) {
  return execa('psql', ['-X', '-At', proxy.url], {
    env: cleanEnv(),
    extendEnv: false,
    reject: false,
    input: script,
  });
}

async function admin<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  return withClient(target.adminUrl, async (c) => (await c.query(sql)).rows as T[]);
}

async function customerCount(): Promise<number> {
  return Number((await admin<{ n: string }>('SELECT count(*) AS n FROM customers'))[0]?.n);
}

async function tableExists(name: string): Promise<boolean> {
  return (await admin(`SELECT 1 FROM pg_class WHERE relname = '${name}'`)).length === 1;
}

beforeAll(async () => {
  target = await createTarget(serverAdminUrl);
  work = await mkdtemp(path.join(tmpdir(), 'jit-guard-'));
  auditFile = path.join(work, 'audit.jsonl');
  await withClient(target.adminUrl, async (c) => {
    await c.query(`CREATE TABLE probe (x int)`);
    await c.query(`ALTER TABLE probe OWNER TO ${target.memberRole}`);
  });
  proxy = await startProxy(target, ['--audit-log', auditFile]);
});

afterAll(async () => {
  await proxy?.stop();
  await target?.cleanup();
  await rm(work, { recursive: true, force: true });
});

beforeEach(async () => {
  await admin('TRUNCATE probe');
});

/** Statements the default policy must stop, with the code the client sees (all 42501) and a rule name. */
const EVASIONS: [string, RegExp][] = [
  ['DROP TABLE customers', /no-drop/],
  ['/* harmless */ DROP TABLE customers', /no-drop/],
  ['/* nested /* comment */ */ DROP TABLE customers', /no-drop/],
  ['dRoP tAbLe "customers"', /no-drop/],
  ['DROP TABLE U&"cust\\006fmers"', /no-drop/],
  ["SELECT 'a'; DROP TABLE customers", /no-drop/],
  ['SELECT $$ ; $$; DROP TABLE customers', /no-drop/],
  ['COMMIT; DROP TABLE customers', /no-drop/],
  ['TRUNCATE customers', /no-drop/],
  ['DROP SCHEMA public CASCADE', /no-drop/],
  ['WITH gone AS (DELETE FROM customers RETURNING *) SELECT count(*) FROM gone', /unbounded-write/],
  ['EXPLAIN ANALYZE DELETE FROM customers', /unbounded-write/],
  ['PREPARE wipe AS DELETE FROM customers', /unbounded-write/],
  ["UPDATE customers SET name = 'x'", /unbounded-write/],
  ["UPDATE customers SET name = 'x' WHERE 1 = 1", /unbounded-write/],
  ["UPDATE customers SET name = 'x' WHERE id = 3 OR true", /unbounded-write/],
  ['DELETE FROM customers WHERE NOT false', /unbounded-write/],
  ["DELETE FROM customers WHERE 'a' = 'a'", /unbounded-write/],
  ['SET ROLE postgres', /privilege/],
  ['SET SESSION AUTHORIZATION postgres', /privilege/],
  ["SELECT set_config('role', 'postgres', false)", /privilege/],
  ["SELECT pg_read_file('/etc/passwd')", /server-side-io/],
  ["SELECT pg_catalog.pg_read_file('/etc/passwd')", /server-side-io/],
  ["COPY customers TO PROGRAM 'cat > /tmp/x'", /server-side/],
  ['DO $$ BEGIN DROP TABLE customers; END $$', /procedural/],
  ['GRANT ALL ON customers TO PUBLIC', /privilege/],
  ['CREATE ROLE evil SUPERUSER', /privilege/],
  ['ALTER TABLE customers ADD COLUMN x int', /ddl/],
  ['SELEC 1', /parse-error/],
];

/** Statements a careless gate would stop, which must pass. */
const BENIGN: string[] = [
  "SELECT 'DROP TABLE customers'",
  'SELECT 1 /* drop table customers */',
  '-- drop table customers\nSELECT 1',
  'CREATE TEMP TABLE scratch (a int)',
  'SET search_path = public',
  'UPDATE customers SET name = name WHERE id = 1',
  'EXPLAIN DELETE FROM customers',
  'RESET ROLE',
  "SELECT * FROM customers WHERE email = 'user1@example.com'",
];

describe('default policy through psql (simple protocol)', () => {
  it.each(EVASIONS)('stops %s', async (sql, rule) => {
    const before = await customerCount();
    const result = await psql(sql);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/ERROR: {2}jit: .*(is blocked by rule|denied by unattended)/);
    expect(result.stderr).toMatch(rule);
    expect(await customerCount()).toBe(before);
    expect(await tableExists('customers')).toBe(true);
  });

  it.each(BENIGN)('allows %s', async (sql) => {
    const result = await psql(sql);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });

  it('a blocked statement stops its whole multi-statement message: nothing before it ran', async () => {
    const result = await psql('INSERT INTO probe VALUES (1); DROP TABLE customers');
    expect(result.stderr).toMatch(/no-drop/);
    expect(await admin('SELECT * FROM probe')).toEqual([]);
  });

  it('behaves like a PostgreSQL error inside a transaction: the transaction is aborted', async () => {
    const result = await psqlScript(
      'BEGIN;\nINSERT INTO probe VALUES (2);\nDROP TABLE customers;\nSELECT 1;\nCOMMIT;\n',
    );
    expect(result.stderr).toMatch(/no-drop/);
    expect(result.stderr).toContain('current transaction is aborted');
    expect(result.stdout).toContain('ROLLBACK');
    expect(await admin('SELECT * FROM probe')).toEqual([]);
    // The connection stays usable after a blocked statement.
    const next = await psqlScript('DROP TABLE customers;\nSELECT 41 + 1;\n');
    expect(next.stdout).toContain('42');
  });
});

describe('default policy through the extended protocol and pipelines', () => {
  it('node-postgres parameterized statements: blocked, denied, and allowed ones', async () => {
    const client = new pg.Client({ connectionString: proxy.url });
    await client.connect();
    try {
      await expect(client.query('DROP TABLE customers')).rejects.toMatchObject({ code: '42501' });
      await expect(client.query('DELETE FROM customers WHERE $1', [true])).rejects.toMatchObject({
        code: '42501',
      });
      await expect(client.query('UPDATE customers SET name = $1', ['x'])).rejects.toMatchObject({
        code: '42501',
      });
      expect((await client.query('DELETE FROM customers WHERE id = $1', [-1])).rowCount).toBe(0);
      expect((await client.query('SELECT count(*)::int AS n FROM customers')).rows[0].n).toBe(100);
      // Named prepared statement: decided once at Parse, reused by later Bind/Execute.
      for (let i = 0; i < 3; i++) {
        const r = await client.query({
          name: 'by_id',
          text: 'SELECT name FROM customers WHERE id = $1',
          values: [i + 1],
        });
        expect(r.rows[0].name).toBe(`name ${i + 1}`);
      }
    } finally {
      await client.end();
    }
    expect(await customerCount()).toBe(100);
  });

  it('postgres.js pipelining: the blocked query fails alone, its neighbours succeed', async () => {
    const sql = postgres(proxy.url, { max: 1 });
    try {
      const results = await Promise.allSettled([
        sql`SELECT 1 AS a`,
        sql.unsafe('DROP TABLE customers'),
        sql`INSERT INTO probe VALUES (3)`,
        sql.unsafe('TRUNCATE probe'),
        sql`SELECT 4 AS d`,
      ]);
      expect(results.map((r) => r.status)).toEqual([
        'fulfilled',
        'rejected',
        'fulfilled',
        'rejected',
        'fulfilled',
      ]);
      expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: '42501' });
    } finally {
      await sql.end();
    }
    expect(await admin('SELECT x FROM probe')).toEqual([{ x: 3 }]);
    expect(await tableExists('customers')).toBe(true);
  });

  it('a blocked Parse inside one Sync segment: the error lands in order, the implicit transaction rolls back', async () => {
    const raw = await RawClient.connect(proxy.url);
    try {
      raw.send(
        msg.parse('', 'INSERT INTO probe VALUES (7)'),
        msg.bind('', ''),
        msg.execute(''),
        msg.parse('', 'DROP TABLE customers'),
        msg.bind('', ''),
        msg.execute(''),
        msg.parse('', 'INSERT INTO probe VALUES (8)'),
        msg.bind('', ''),
        msg.execute(''),
        msg.sync(),
      );
      const reply = await raw.untilReady();
      expect(reply.map((m) => m.type).join('')).toBe('12CEZ');
      const error = reply.find((m) => m.type === 'E');
      expect(error?.fields?.C).toBe('42501');
      expect(error?.fields?.M).toContain('no-drop');
      expect(error?.fields?.M).not.toContain('jit_blocked_statement'); // the sentinel never shows
      // Exactly what PostgreSQL does on an error in a pipeline: the whole implicit transaction is gone.
      expect(await admin('SELECT * FROM probe')).toEqual([]);

      // The connection is usable, and a later segment runs normally.
      raw.send(msg.parse('', 'INSERT INTO probe VALUES (9)'), msg.bind('', ''), msg.execute(''), msg.sync());
      expect((await raw.untilReady()).map((m) => m.type).join('')).toBe('12CZ');
      expect(await admin('SELECT x FROM probe')).toEqual([{ x: 9 }]);
    } finally {
      raw.end();
    }
  });

  it('two pipelined segments: only the segment with the blocked statement fails', async () => {
    const raw = await RawClient.connect(proxy.url);
    try {
      raw.send(
        msg.parse('', 'TRUNCATE customers'),
        msg.bind('', ''),
        msg.execute(''),
        msg.sync(),
        msg.parse('', 'INSERT INTO probe VALUES (10)'),
        msg.bind('', ''),
        msg.execute(''),
        msg.sync(),
        msg.query('SELECT 1; DROP TABLE customers'),
        msg.query('SELECT 2'),
      );
      const reply = await raw.untilReady(4);
      expect(reply.map((m) => m.type).join('')).toBe('EZ12CZEZTDCZ');
      expect(await admin('SELECT x FROM probe')).toEqual([{ x: 10 }]);
      expect(await customerCount()).toBe(100);
    } finally {
      raw.end();
    }
  });

  it('refuses the FunctionCall message (it would bypass the SQL policy)', async () => {
    const raw = await RawClient.connect(proxy.url);
    try {
      const oid = Number(
        (await admin<{ oid: string }>(`SELECT 'pg_read_file(text)'::regprocedure::oid AS oid`))[0]?.oid,
      );
      raw.send(msg.functionCall(oid));
      const reply = await raw.untilReady();
      expect(reply.map((m) => m.type).join('')).toBe('EZ');
      expect(reply[0]?.fields?.C).toBe('42501');
      expect(reply[0]?.fields?.M).toContain('FunctionCall');
    } finally {
      raw.end();
    }
  });
});

describe('the audit trail', () => {
  it('records every statement with its decision, normalized so literals stay out, and verifies', async () => {
    await psql("SELECT name FROM customers WHERE email = 'secret-literal@example.com'");
    await psql("COMMENT ON TABLE customers IS 'secret-comment-literal'");
    await psql('/* secret-in-a-comment */ SELECT 1');
    await psql('DROP TABLE customers');
    const lines = (await readFile(auditFile, 'utf8')).trim().split('\n');
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records[0]).toMatchObject({ kind: 'session_start', seq: 1 });
    expect(records[1]).toMatchObject({ kind: 'grant_issued', grant: proxy.user });
    const select = records.find((r) => r.sql === 'SELECT name FROM customers WHERE email = $1');
    expect(select).toMatchObject({ kind: 'statement', decision: 'allowed', rows: 0 });
    expect(select?.sql).toBe('SELECT name FROM customers WHERE email = $1');
    expect(lines.join('\n')).not.toContain('secret-literal');
    expect(lines.join('\n')).not.toContain('secret-comment-literal');
    expect(lines.join('\n')).not.toContain('secret-in-a-comment');
    const drop = records.filter((r) => r.sql === 'DROP TABLE customers').at(-1);
    expect(drop).toMatchObject({
      kind: 'statement',
      decision: 'blocked',
      rule: 'no-drop',
      sqlstate: '42501',
    });
    const denied = records.find((r) => r.kind === 'approval' && r.decision === 'denied');
    expect(denied).toMatchObject({ approver: 'unattended' });
    for (let i = 1; i < records.length; i++) expect(records[i]?.prev).toBe(records[i - 1]?.hash);

    const verify = await runJit(['audit', 'verify', auditFile], { env: cleanEnv() });
    expect(verify.exitCode).toBe(0);
  });
});

describe('policy variants', () => {
  it('audit-only mode lets a DROP through and records that enforce would have blocked it', async () => {
    const policyFile = path.join(work, 'audit-only.yaml');
    await writeFile(
      policyFile,
      'mode: audit-only\nrules:\n  - { name: no-drop, match: { statements: [drop] }, action: block }\n',
    );
    const file = path.join(work, 'audit-only.jsonl');
    const p = await startProxy(target, ['--policy', policyFile, '--audit-log', file]);
    try {
      await admin(`CREATE TABLE doomed (x int); ALTER TABLE doomed OWNER TO ${target.memberRole}`);
      const result = await execa('psql', ['-X', p.url, '-c', 'DROP TABLE doomed'], {
        env: cleanEnv(),
        extendEnv: false,
        reject: false,
      });
      expect(result.exitCode).toBe(0);
      expect(await tableExists('doomed')).toBe(false);
    } finally {
      await p.stop();
    }
    const records = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const drop = records.find((r) => r.sql === 'DROP TABLE doomed');
    expect(drop).toMatchObject({ decision: 'allowed', rule: 'no-drop' });
    expect(String(drop?.reason)).toMatch(/would block/);
  });

  it('audit: raw keeps literal text (opt-in)', async () => {
    const policyFile = path.join(work, 'raw.yaml');
    await writeFile(policyFile, 'audit: raw\n');
    const file = path.join(work, 'raw.jsonl');
    const p = await startProxy(target, ['--policy', policyFile, '--audit-log', file]);
    try {
      await execa('psql', ['-X', p.url, '-c', "SELECT 'visible-literal'"], {
        env: cleanEnv(),
        extendEnv: false,
      });
    } finally {
      await p.stop();
    }
    expect(await readFile(file, 'utf8')).toContain("SELECT 'visible-literal'");
  });
});
