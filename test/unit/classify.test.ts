import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { classify, type StatementInfo } from '../../src/policy/classify.js';
import { UNWRAPPED_FIELDS } from '../../src/policy/node-fields.js';
import { initParser } from '../../src/policy/parse.js';
import { isKnownStatementType, NOT_STATEMENTS, statementKind } from '../../src/policy/statement-kinds.js';

beforeAll(async () => {
  await initParser();
});

/** `statement/category`, `*` when nested, `!` when unbounded — one per statement, in order. */
function kinds(sql: string): string[] {
  const c = classify(sql);
  if (c.parseError) return [`parse-error: ${c.parseError.message}`];
  return c.statements.map(
    (s) => `${s.statement}/${s.category}${s.nested ? '*' : ''}${s.unbounded ? '!' : ''}`,
  );
}

function only(sql: string): StatementInfo {
  const { statements, parseError } = classify(sql);
  expect(parseError).toBeUndefined();
  expect(statements).toHaveLength(1);
  return statements[0] as StatementInfo;
}

describe('classify: statement kinds, nesting and categories', () => {
  const cases: [string, string[]][] = [
    ['SELECT 1', ['select/read']],
    ['/* x */ DROP TABLE t', ['drop/ddl']],
    ['/* /* */ */ DROP TABLE t', ['drop/ddl']],
    ['dRoP tAbLe "T"', ['drop/ddl']],
    ['SELECT $$x$$; DROP TABLE t', ['select/read', 'drop/ddl']],
    ["SELECT 'a'';DROP TABLE t;--'", ['select/read']],
    ["SELECT 'a'; DROP TABLE t", ['select/read', 'drop/ddl']],
    ['SELECT 1 /* drop table t */', ['select/read']],
    ['-- drop table t\nSELECT 1', ['select/read']],
    ["SELECT 'DROP TABLE t'", ['select/read']],
    ['COMMIT; DROP TABLE t', ['commit/transaction', 'drop/ddl']],
    ['WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x', ['select/read', 'delete/write*!']],
    [
      'SELECT * FROM (WITH d AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM d) s',
      ['select/read', 'update/write*!'],
    ],
    [
      'WITH a AS (WITH b AS (DELETE FROM t RETURNING 1) SELECT 1) SELECT 1',
      ['select/read', 'select/read*', 'delete/write*!'],
    ],
    [
      'INSERT INTO log WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d',
      ['insert/write', 'delete/write*!'],
    ],
    ['EXPLAIN ANALYZE DELETE FROM t', ['explain/read', 'delete/write*!']],
    ['EXPLAIN (ANALYZE) DELETE FROM t', ['explain/read', 'delete/write*!']],
    ['EXPLAIN (ANALYZE true, COSTS off) DELETE FROM t', ['explain/read', 'delete/write*!']],
    ['EXPLAIN (ANALYZE false) DELETE FROM t', ['explain/read']],
    ['EXPLAIN DELETE FROM t', ['explain/read']],
    ['EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1', ['explain/read', 'create/ddl*', 'select/read*']],
    ['PREPARE p AS DELETE FROM t', ['prepare/utility', 'delete/write*!']],
    ['EXECUTE p', ['execute/utility']],
    ['DEALLOCATE p', ['deallocate/utility']],
    ['CREATE TABLE x AS SELECT * FROM y', ['create/ddl', 'select/read*']],
    ['CREATE TEMP TABLE x AS SELECT * FROM y', ['create/temp', 'select/read*']],
    ['CREATE MATERIALIZED VIEW mv AS SELECT 1', ['create/ddl', 'select/read*']],
    ['SELECT * INTO newtable FROM t', ['create/ddl', 'select/read*']],
    ['SELECT * INTO TEMP newtable FROM t', ['create/temp', 'select/read*']],
    ['COPY t TO STDOUT', ['copy/read']],
    ['COPY t FROM STDIN', ['copy/write']],
    ["COPY t TO PROGRAM 'id'", ['copy/server_io']],
    ["COPY t FROM '/etc/passwd'", ['copy/server_io']],
    ["COPY (SELECT 1) TO '/tmp/x'", ['copy/server_io', 'select/read*']],
    ['COPY (DELETE FROM t RETURNING *) TO STDOUT', ['copy/read', 'delete/write*!']],
    ['DO $$ BEGIN END $$', ['do/procedural']],
    ['CALL p()', ['call/procedural']],
    ['GRANT SELECT ON t TO x', ['grant/privilege']],
    ['REVOKE SELECT ON t FROM x', ['revoke/privilege']],
    ['GRANT admin TO agent', ['grant/role']],
    ['CREATE ROLE x', ['create_role/role']],
    ['CREATE USER x', ['create_role/role']],
    ['ALTER ROLE x SUPERUSER', ['alter_role/role']],
    ['ALTER USER x SET search_path = a', ['alter_role/role']],
    ['DROP ROLE x', ['drop_role/role']],
    ['DROP OWNED BY x', ['drop/ddl']],
    ['DROP DATABASE d', ['drop/ddl']],
    ['DROP SCHEMA s CASCADE', ['drop/ddl']],
    ['DROP INDEX i', ['drop/ddl']],
    ['DROP FUNCTION f()', ['drop/ddl']],
    ['TRUNCATE t', ['truncate/write']],
    ["ALTER SYSTEM SET work_mem = '1GB'", ['alter_system/ddl']],
    ["LOAD 'auto_explain'", ['load/ddl']],
    ['CREATE EXTENSION dblink', ['create_extension/ddl']],
    ['CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$', ['create/ddl', 'select/read*']],
    ['CREATE TABLE t (a int)', ['create/ddl']],
    ['CREATE TEMP TABLE x (a int)', ['create/temp']],
    ['CREATE TEMPORARY VIEW v AS SELECT 1', ['create/temp', 'select/read*']],
    ['CREATE TABLE pg_temp.x (a int)', ['create/temp']],
    ['CREATE INDEX ON t (a)', ['create/ddl']],
    ['ALTER TABLE t ADD COLUMN b int', ['alter/ddl']],
    ['COMMENT ON TABLE t IS $$x$$', ['comment/ddl']],
    ['DROP TABLE pg_temp.x', ['drop/temp']],
    ['DROP TABLE pg_temp.x CASCADE', ['drop/ddl']],
    ['DROP TABLE pg_temp.x, public.y', ['drop/ddl']],
    ['DROP TABLE x', ['drop/ddl']],
    ['BEGIN', ['begin/transaction']],
    ['START TRANSACTION ISOLATION LEVEL SERIALIZABLE', ['begin/transaction']],
    [
      'SAVEPOINT s; RELEASE s; ROLLBACK TO s',
      ['savepoint/transaction', 'release/transaction', 'rollback/transaction'],
    ],
    ['SET search_path = app, public', ['set/session']],
    ['SET statement_timeout = 0', ['set/session']],
    ['SET ROLE postgres', ['set/privilege']],
    ['SET SESSION AUTHORIZATION postgres', ['set/privilege']],
    ['SET LOCAL role = postgres', ['set/privilege']],
    ['SET app.tenant_id = 7', ['set/privilege']],
    ['SET default_transaction_read_only = off', ['set/privilege']],
    ['SET default_transaction_read_only = on', ['set/session']],
    ['SET standard_conforming_strings = off', ['set/privilege']],
    ["SET NAMES 'SJIS'", ['set/privilege']],
    ["SET client_encoding = 'UTF8'", ['set/session']],
    ['SET TRANSACTION READ WRITE', ['set/privilege']],
    ['SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE', ['set/privilege']],
    ['BEGIN READ WRITE', ['begin/privilege']],
    ['BEGIN READ ONLY', ['begin/transaction']],
    ['RESET ROLE', ['reset/session']],
    ['SET ROLE NONE', ['set/session']],
    ['RESET ALL', ['reset/session']],
    ['SET SESSION AUTHORIZATION DEFAULT', ['set/session']],
    ['DISCARD ALL', ['discard/session']],
    ["SELECT set_config('role', 'postgres', false)", ['select/privilege']],
    ["SELECT pg_catalog.set_config('search_path', 'x', false)", ['select/read']],
    ["SELECT set_config('ro' || 'le', 'postgres', false)", ['select/privilege']],
    ["SELECT set_config(setting_name => 'role', new_value => 'x', is_local => false)", ['select/privilege']],
    [
      "WITH s AS (SELECT set_config('role', 'x', false)) SELECT * FROM s",
      ['select/privilege', 'select/privilege*'],
    ],
    ["UPDATE pg_settings SET setting = 'x' WHERE name = 'role'", ['update/privilege']],
    ['CREATE TEMP VIEW v AS SELECT * FROM pg_settings', ['create/privilege', 'select/read*']],
    [
      'CREATE FUNCTION f() RETURNS int SET role = x LANGUAGE sql AS $$ SELECT 1 $$',
      ['create/privilege', 'select/read*'],
    ],
    ['ALTER DATABASE d SET role = x', ['alter/privilege']],
    ['SHOW search_path', ['show/read']],
    ['SELECT * FROM t FOR UPDATE', ['select/read']],
    ['VACUUM t', ['vacuum/utility']],
    ['ANALYZE t', ['analyze/utility']],
    ['LISTEN c; NOTIFY c', ['listen/utility', 'notify/utility']],
    ['DECLARE c CURSOR FOR SELECT 1', ['declare/read', 'select/read*']],
    ['CREATE SCHEMA s CREATE TABLE t (a int)', ['create/ddl', 'create/ddl*']],
    ['CREATE RULE r AS ON INSERT TO t DO ALSO DELETE FROM u', ['create/ddl', 'delete/write*!']],
    ['MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE', ['merge/write']],
    ['MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE', ['merge/write!']],
    ["SELECT query_to_xml('DELETE FROM t', true, false, '')", ['select/read', 'delete/write*!']],
    ["SELECT query_to_xml($1, true, false, '')", ['select/read', 'dynamic_sql/procedural*']],
    ['', []],
    [';', []],
    ['-- only a comment', []],
  ];
  it.each(cases)('%j', (sql, expected) => {
    expect(kinds(sql)).toEqual(expected);
  });
});

describe('classify: parse errors are reported, never thrown', () => {
  it.each([
    'DR/**/OP TABLE t',
    "SELECT 'unterminated",
    'SELECT 1\0; DROP TABLE t',
    'DROP TABLE',
    'SELECT * FROM t WHERE',
  ])('%j', (sql) => {
    const c = classify(sql);
    expect(c.parseError?.message).toBeTruthy();
    expect(c.statements).toEqual([]);
    expect(c.cacheable).toBe(false);
  });

  it('reports the position of a syntax error in characters', () => {
    expect(classify('SELECT é FROM WHERE').parseError?.position).toBe(14);
  });
});

describe('classify: facts about each statement', () => {
  it('records every function call, bare and schema-qualified, wherever it is', () => {
    const s = only('CREATE TEMP TABLE x (a text DEFAULT pg_read_file($1), b int CHECK (abs(b) > 0))');
    expect(s.functions).toEqual(['pg_read_file', 'abs']);
    expect(only("SELECT pg_catalog.pg_read_file('/etc/passwd')").functions).toEqual([
      'pg_read_file',
      'pg_catalog.pg_read_file',
    ]);
    expect(only('SELECT * FROM generate_series(1, 3) g').functions).toEqual(['generate_series']);
    expect(only('CALL myschema.do_it(1)').functions).toEqual(['do_it', 'myschema.do_it']);
    expect(only('CREATE INDEX ON t (lower(email))').functions).toEqual(['lower']);
    expect(only('SELECT "PG_READ_FILE"(1)').functions).toEqual(['pg_read_file']);
    expect(only('SELECT U&"pg_read_fil\\0065"(1)').functions).toEqual(['pg_read_file']);
  });

  it('propagates functions and relations of nested statements to the enclosing ones', () => {
    const [top, inner] = classify(
      'WITH d AS (DELETE FROM a.t WHERE f(x) RETURNING *) SELECT * FROM d',
    ).statements;
    expect(top?.functions).toEqual(['f']);
    expect(top?.relations.sort()).toEqual(['a.t', 'd']);
    expect(inner?.relations).toEqual(['a.t']);
  });

  it('records relations as written, including DROP targets', () => {
    expect(only('SELECT * FROM public.users u JOIN orders o ON true').relations).toEqual([
      'public.users',
      'orders',
    ]);
    expect(only('DROP TABLE a.b, c').relations).toEqual(['a.b', 'c']);
    expect(only('TRUNCATE x, y').relations).toEqual(['x', 'y']);
  });

  it('records settings by canonical name', () => {
    expect(only('SET Search_Path = a').settings).toEqual(['search_path']);
    expect(only('RESET ALL').settings).toEqual(['all']);
    expect(only("SELECT set_config('App.Tenant', '1', false)").settings).toEqual(['app.tenant']);
    expect(only('SELECT set_config($1, $2, false)').settings).toEqual(['*']);
    expect(only('ALTER ROLE x SET statement_timeout = 0').settings).toEqual(['statement_timeout']);
  });

  it('slices each statement its own text, in characters even after multi-byte text', () => {
    const [a, b] = classify('SELECT \'é\'; DROP TABLE "Ü"').statements;
    expect(a?.text).toBe("SELECT 'é'");
    expect(b?.text).toBe('DROP TABLE "Ü"');
  });

  it('gives nested statements their own text', () => {
    const texts = (sql: string): string[] => classify(sql).statements.map((s) => s.text);
    expect(texts('WITH x AS (DELETE FROM t WHERE a = 1 RETURNING *) SELECT * FROM x')).toEqual([
      'WITH x AS (DELETE FROM t WHERE a = 1 RETURNING *) SELECT * FROM x',
      'DELETE FROM t WHERE a = 1 RETURNING *',
    ]);
    expect(texts('EXPLAIN ANALYZE UPDATE t SET a = (1) WHERE b = 2;')).toEqual([
      'EXPLAIN ANALYZE UPDATE t SET a = (1) WHERE b = 2',
      'UPDATE t SET a = (1) WHERE b = 2',
    ]);
    expect(texts('PREPARE p (int) AS WITH a AS (SELECT 1) DELETE FROM t WHERE id = $1')).toEqual([
      'PREPARE p (int) AS WITH a AS (SELECT 1) DELETE FROM t WHERE id = $1',
      'WITH a AS (SELECT 1) DELETE FROM t WHERE id = $1',
      'SELECT 1',
    ]);
  });
});

describe('classify: unbounded UPDATE/DELETE/MERGE', () => {
  const unbounded = [
    'DELETE FROM t',
    'UPDATE t SET a = 1',
    'DELETE FROM t WHERE true',
    'DELETE FROM t WHERE 1=1',
    'DELETE FROM t WHERE x = 5 OR true',
    'DELETE FROM t WHERE NOT false',
    "DELETE FROM t WHERE 'a'='a'",
    'DELETE FROM t WHERE $1',
    'DELETE FROM t WHERE id = id',
    'DELETE FROM t WHERE t.id = t.id',
    'DELETE FROM t WHERE id IS NOT DISTINCT FROM id',
    'DELETE FROM t WHERE 1 IN (1, 2)',
    "DELETE FROM t WHERE 't'::bool",
    "DELETE FROM t WHERE 't'",
    "DELETE FROM t WHERE 1::text = '1'",
    'DELETE FROM t WHERE 1 = 1.0',
    "DELETE FROM t WHERE 2 BETWEEN 1 AND '3'",
    'DELETE FROM t WHERE 1.00000000000000001 > 1',
    'DELETE FROM t WHERE NULL IS NULL',
    'DELETE FROM t WHERE (1 = 0) IS NOT TRUE',
    'DELETE FROM t WHERE random() < 2',
    'DELETE FROM t WHERE now() IS NOT NULL',
    'DELETE FROM t WHERE EXISTS (SELECT 1)',
    'DELETE FROM t WHERE EXISTS (SELECT 1 FROM u)',
    'DELETE FROM t WHERE EXISTS (SELECT 1 FROM t WHERE t.id = 5)',
    'DELETE FROM t WHERE EXISTS (SELECT count(*) FROM u WHERE u.tid = t.id)',
    'DELETE FROM t WHERE (SELECT true)',
    'DELETE FROM t WHERE a = 1 OR NOT (a = 1)',
    'DELETE FROM t WHERE a IS NULL OR a IS NOT NULL',
    'DELETE FROM t WHERE CASE WHEN id = 5 THEN true ELSE true END',
    'DELETE FROM t WHERE coalesce(NULL, true)',
    'DELETE FROM t WHERE NOT (a <> a)',
    'DELETE FROM t USING u WHERE u.x = 1',
    'DELETE FROM t AS a WHERE t.id = 1',
    'UPDATE t SET a = 1 FROM (VALUES (1, 2)) v(id, a) WHERE id = v.id',
    'UPDATE t SET a = 1 FROM u WHERE u.flag',
    'UPDATE t SET a = 1 WHERE current_user = session_user',
    'MERGE INTO t USING s ON s.x = 1 WHEN MATCHED THEN UPDATE SET a = 1',
    'MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED BY SOURCE THEN DELETE',
    'WITH d AS (DELETE FROM t WHERE 2 > 1 RETURNING *) SELECT 1',
  ];
  it.each(unbounded)('unbounded: %j', (sql) => {
    const writes = classify(sql).statements.filter((s) =>
      ['update', 'delete', 'merge'].includes(s.statement),
    );
    expect(writes.map((s) => s.unbounded)).toEqual([true]);
  });

  const bounded = [
    'DELETE FROM t WHERE id = 5',
    'DELETE FROM t WHERE id = $1',
    'DELETE FROM t WHERE created_at < now()',
    'DELETE FROM t WHERE 1=0',
    'DELETE FROM t WHERE false',
    'DELETE FROM t WHERE NULL',
    'DELETE FROM t WHERE 1 = 1 AND id = 5',
    'DELETE FROM t WHERE id IN (SELECT tid FROM u)',
    'DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.tid = t.id)',
    'DELETE FROM t x WHERE EXISTS (SELECT 1 FROM u WHERE u.tid = x.id)',
    'DELETE FROM t WHERE CURRENT OF c',
    'DELETE FROM t USING u WHERE t.uid = u.id AND u.flag',
    'UPDATE t SET a = 1 WHERE id = 1',
    'UPDATE pgbench_accounts SET abalance = abalance + -5 WHERE aid = 7',
    'UPDATE t SET a = v.a FROM (VALUES (1, 2)) v(vid, a) WHERE id = v.vid',
    'MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE',
    'MERGE INTO t USING (SELECT 1 AS sid) s ON id = s.sid WHEN MATCHED THEN DELETE',
    'MERGE INTO t USING s ON true WHEN NOT MATCHED THEN INSERT VALUES (1)',
    'MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED BY SOURCE AND t.id = 5 THEN DELETE',
    'INSERT INTO t SELECT * FROM u',
  ];
  it.each(bounded)('bounded: %j', (sql) => {
    expect(classify(sql).statements.some((s) => s.unbounded)).toBe(false);
  });
});

describe('classify: cacheable', () => {
  it.each([
    'SELECT abalance FROM pgbench_accounts WHERE aid = 5',
    'UPDATE pgbench_accounts SET abalance = abalance + -5 WHERE aid = 7',
    'INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 2, 3, 4, CURRENT_TIMESTAMP)',
    'DELETE FROM t WHERE id = 5',
    'DROP TABLE t',
    "SELECT * FROM t WHERE name = 'x' AND id IN (1, 2, 3)",
  ])('cacheable: %j', (sql) => {
    expect(classify(sql).cacheable).toBe(true);
  });

  it.each([
    'DELETE FROM t WHERE 1=1',
    'DELETE FROM t WHERE 1=0',
    "DELETE FROM t WHERE 't'::bool",
    'DELETE FROM t WHERE coalesce(id, 1) = coalesce(id, 2)',
    'DELETE FROM t WHERE 1 = 0 OR id = 3',
    "SELECT set_config('search_path', 'x', false)",
    'SET search_path = a',
    'RESET ROLE',
    'PREPARE p AS SELECT 1',
    'EXECUTE p',
    'DEALLOCATE p',
    'EXPLAIN (ANALYZE 0) DELETE FROM t',
    "SELECT query_to_xml('select 1', true, false, '')",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'",
    "CREATE FUNCTION f() RETURNS void LANGUAGE 'plpgsql' AS 'begin end'",
    'DROP TABLE',
  ])('not cacheable: %j', (sql) => {
    expect(classify(sql).cacheable).toBe(false);
  });
});

describe('classify: the generic walk knows the whole AST', () => {
  const require = createRequire(import.meta.url);
  const typesFile = require.resolve('@pgsql/types').replace(/index\.js$/, 'types.d.ts');
  const source = readFileSync(typesFile, 'utf8');
  const start = source.indexOf('export type Node =');
  const nodeTypes = new Set(
    [...source.slice(start, source.indexOf('\nexport ', start + 1)).matchAll(/^ {4}(\w+): /gm)].map(
      (m) => m[1] as string,
    ),
  );

  it('UNWRAPPED_FIELDS lists every field typed as a concrete node (regenerate node-fields.ts when this fails)', () => {
    const expected: Record<string, string> = {};
    let iface: string | undefined;
    for (const line of source.split('\n')) {
      const declared = /^export interface (\w+)/.exec(line);
      if (declared) {
        iface = declared[1];
        continue;
      }
      const field = /^ {4}(\w+)\??: (\w+)(\[\])?;/.exec(line);
      if (
        iface &&
        field &&
        nodeTypes.has(field[2] as string) &&
        !['ParseResult', 'ScanResult', 'SummaryResult'].includes(iface)
      ) {
        expected[`${iface}.${field[1]}`] = field[2] as string;
      }
    }
    expect(UNWRAPPED_FIELDS).toEqual(expected);
  });

  it('every *Stmt node type has a statement kind (or is declared part of another statement)', () => {
    const stmtTypes = [...nodeTypes].filter((t) => t.endsWith('Stmt'));
    expect(stmtTypes.length).toBeGreaterThan(100);
    const unknown = stmtTypes.filter((t) => !NOT_STATEMENTS.has(t) && !isKnownStatementType(t));
    expect(unknown).toEqual([]);
    expect(stmtTypes.filter((t) => !NOT_STATEMENTS.has(t) && statementKind(t, {}) === undefined)).toEqual([]);
  });
});
