import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { analyzeSql, lineageOfStatement } from '../../src/policy/mask/lineage.js';
import type {
  CopyOptions,
  OutputItem,
  RelRef,
  Source,
  StatementLineage,
  WriteFlow,
} from '../../src/policy/mask/types.js';
import { initParser, parseSql } from '../../src/policy/parse.js';
import { splitScript } from '../../src/policy/sql-script.js';
import { CORPUS_DIR } from '../helpers/corpus.js';
import { createTestDatabase, withClient } from '../helpers/db.js';

beforeAll(async () => {
  await initParser();
});

const rel = (name: string, schema?: string): RelRef => (schema === undefined ? { name } : { schema, name });
const col = (table: string, column: string, schema?: string): Source => ({
  kind: 'column',
  rel: rel(table, schema),
  column,
});
const any = (tables: string[], column: string): Source => ({
  kind: 'column-of-any',
  rels: tables.map((t) => rel(t)),
  column,
});
const row = (table: string): Source => ({ kind: 'row', rel: rel(table) });
const OPAQUE = { kind: 'opaque', reason: expect.any(String) as unknown as string } satisfies Source;
const expr = (name: string, ...sources: Source[]): OutputItem => ({ kind: 'expr', name, sources });
const star = (table: string, schema?: string): OutputItem => ({ kind: 'star', rel: rel(table, schema) });
const write = (
  target: string,
  columns: string[] | undefined,
  outputs: OutputItem[],
  extra: Partial<WriteFlow> = {},
): WriteFlow => ({
  target: rel(target),
  creates: false,
  temporary: false,
  ...(columns ? { columns } : {}),
  source: { outputs },
  ...extra,
});

/** The lineage of a text holding exactly one statement. */
function one(sql: string): StatementLineage {
  const all = analyzeSql(sql);
  expect(all).toBeDefined();
  expect(all).toHaveLength(1);
  return (all as StatementLineage[])[0] as StatementLineage;
}

/** The result outputs of a one-statement text. */
function outputs(sql: string): OutputItem[] | undefined {
  return one(sql).result?.outputs;
}

describe('analyzeSql: target lists', () => {
  it('plain columns of one relation give exact `column` sources', () => {
    expect(one('SELECT id, email FROM customers')).toEqual({
      result: { outputs: [expr('id', col('customers', 'id')), expr('email', col('customers', 'email'))] },
      writes: [],
    });
  });

  it('unqualified columns with several relations in scope are `column-of-any`', () => {
    expect(outputs('SELECT email FROM customers JOIN orders ON true')).toEqual([
      expr('email', any(['customers', 'orders'], 'email')),
    ]);
    expect(outputs('SELECT email FROM customers, orders, customers x')).toEqual([
      expr('email', any(['customers', 'orders'], 'email')),
    ]);
  });

  it('qualified columns: alias.col, table.col, schema.table.col', () => {
    expect(
      outputs(
        'SELECT c.email, orders.total, public.orders.id, o2.x FROM customers c, public.orders, s.orders o2',
      ),
    ).toEqual([
      expr('email', col('customers', 'email')),
      expr('total', col('orders', 'total', 'public')),
      expr('id', col('orders', 'id', 'public')),
      expr('x', col('orders', 'x', 's')),
    ]);
  });

  it('expressions of any depth: functions, operators, CASE with its conditions, casts, COALESCE, …', () => {
    expect(
      outputs(
        `SELECT lower(c.email) || '@' || upper(name),
                CASE WHEN vip THEN phone ELSE 'x' END,
                ssn::text, COALESCE(a, b), ARRAY[a, 1], ROW(a, 2), email IS NULL, name COLLATE "C",
                tags[1], (addr).city, GREATEST(a, 0), NULLIF(a, b), x BETWEEN lo AND 3, NOT flag,
                substring(ssn FROM 6), extract(year FROM born), json_build_object('e', email)
           FROM customers c`,
      ),
    ).toEqual([
      expr('?column?', col('customers', 'email'), col('customers', 'name')),
      expr('case', col('customers', 'vip'), col('customers', 'phone')),
      expr('ssn', col('customers', 'ssn')),
      expr('coalesce', col('customers', 'a'), col('customers', 'b')),
      expr('array', col('customers', 'a')),
      expr('row', col('customers', 'a')),
      expr('?column?', col('customers', 'email')),
      expr('name', col('customers', 'name')),
      expr('tags', col('customers', 'tags')),
      expr('city', col('customers', 'addr')),
      expr('greatest', col('customers', 'a')),
      expr('nullif', col('customers', 'a'), col('customers', 'b')),
      expr('?column?', col('customers', 'x'), col('customers', 'lo')),
      expr('?column?', col('customers', 'flag')),
      expr('substring', col('customers', 'ssn')),
      expr('extract', col('customers', 'born')),
      expr('json_build_object', col('customers', 'email')),
    ]);
  });

  it('constants, parameters, now() and count(…) have no sources', () => {
    expect(
      outputs(
        "SELECT 1, 'x', now(), current_date, $1, count(*), count(ssn), count(DISTINCT ssn) FILTER (WHERE vip) FROM customers",
      ),
    ).toEqual([
      expr('?column?'),
      expr('?column?'),
      expr('now'),
      expr('current_date'),
      expr('?column?'),
      expr('count'),
      expr('count'),
      expr('count'),
    ]);
  });

  it('other aggregates: their arguments, ORDER BY and FILTER', () => {
    expect(
      outputs(
        `SELECT string_agg(ssn, ',' ORDER BY name) FILTER (WHERE vip), max(balance), array_agg(email),
                percentile_cont(0.5) WITHIN GROUP (ORDER BY salary)
           FROM customers`,
      ),
    ).toEqual([
      expr('string_agg', col('customers', 'ssn'), col('customers', 'name'), col('customers', 'vip')),
      expr('max', col('customers', 'balance')),
      expr('array_agg', col('customers', 'email')),
      expr('percentile_cont', col('customers', 'salary')),
    ]);
  });

  it('window functions: their arguments, not PARTITION BY / ORDER BY', () => {
    expect(
      outputs(
        `SELECT sum(amount) OVER (PARTITION BY cid ORDER BY at), row_number() OVER (ORDER BY ssn),
                lag(email) OVER w, count(*) OVER ()
           FROM orders WINDOW w AS (ORDER BY id)`,
      ),
    ).toEqual([
      expr('sum', col('orders', 'amount')),
      expr('row_number'),
      expr('lag', col('orders', 'email')),
      expr('count'),
    ]);
  });

  it('subqueries: scalar, IN/ANY/ALL (test expression too), ARRAY; EXISTS has none', () => {
    expect(
      outputs(
        `SELECT (SELECT email FROM customers WHERE id = 1),
                2 IN (SELECT ssn FROM customers),
                o.cid = ANY (SELECT id FROM customers),
                o.total > ALL (SELECT balance FROM accounts),
                EXISTS (SELECT ssn FROM customers),
                ARRAY(SELECT lower(email) FROM customers)
           FROM orders o`,
      ),
    ).toEqual([
      expr('email', any(['customers', 'orders'], 'email')),
      expr('?column?', any(['customers', 'orders'], 'ssn')),
      expr('?column?', col('orders', 'cid'), any(['customers', 'orders'], 'id')),
      expr('?column?', col('orders', 'total'), any(['accounts', 'orders'], 'balance')),
      expr('exists'),
      expr('array', any(['customers', 'orders'], 'email')),
    ]);
  });

  it('a subquery with no outer FROM resolves exactly; correlated names resolve in outer scopes', () => {
    expect(outputs('SELECT (SELECT email FROM customers LIMIT 1)')).toEqual([
      expr('email', col('customers', 'email')),
    ]);
    expect(
      outputs(
        `SELECT (SELECT c.email FROM orders o WHERE o.cid = c.id) AS e,
                (SELECT max(o.total) FROM orders o WHERE o.cid = c.id) AS t
           FROM customers c`,
      ),
    ).toEqual([expr('e', col('customers', 'email')), expr('t', col('orders', 'total'))]);
  });

  it('functions that read data named by an argument: SQL text, a table name; others are opaque', () => {
    expect(
      outputs(
        `SELECT query_to_xml('SELECT ssn, lower(email) FROM customers', true, false, ''),
                table_to_xml('public."Cust"'::regclass, true, false, ''),
                table_to_xml(name, true, false, ''),
                cursor_to_xml('cur', 10, true, false, ''),
                query_to_xml('SELECT 1; DROP TABLE x', true, false, '')
           FROM tables`,
      ),
    ).toEqual([
      expr('query_to_xml', col('customers', 'ssn'), col('customers', 'email')),
      expr('table_to_xml', { kind: 'row', rel: rel('Cust', 'public') }),
      expr('table_to_xml', OPAQUE, col('tables', 'name')),
      expr('cursor_to_xml', OPAQUE),
      expr('query_to_xml', OPAQUE),
    ]);
    expect(outputs("SELECT * FROM dblink('dbname=x', 'SELECT ssn FROM c') AS t(ssn text)")).toEqual([
      expr('ssn', OPAQUE),
    ]);
  });

  it('names that resolve nowhere are opaque, but not in ORDER BY / GROUP BY / WHERE', () => {
    expect(outputs('SELECT nosuch FROM (SELECT 1 AS a) s')).toEqual([expr('nosuch', OPAQUE)]);
    expect(outputs('SELECT nosuch')).toEqual([expr('nosuch', OPAQUE)]);
    expect(
      outputs('SELECT a FROM (SELECT 1 AS a) s WHERE zz > 0 GROUP BY yy HAVING ww ORDER BY xx LIMIT 1'),
    ).toEqual([expr('a')]);
  });
});

describe('analyzeSql: whole rows and stars', () => {
  it('a bare FROM-item name is its whole row (and possibly a column of that name)', () => {
    expect(outputs('SELECT c, row_to_json(c), to_json(c.*) FROM customers c')).toEqual([
      expr('c', any(['customers'], 'c'), row('customers')),
      expr('row_to_json', any(['customers'], 'c'), row('customers')),
      expr('to_json', row('customers')),
    ]);
    expect(outputs('SELECT json_agg(c) FROM customers c')).toEqual([
      expr('json_agg', any(['customers'], 'c'), row('customers')),
    ]);
  });

  it('field selection from a whole row is that column', () => {
    expect(outputs('SELECT (c).email FROM customers c')).toEqual([
      expr('email', any(['customers'], 'c'), col('customers', 'email')),
    ]);
  });

  it('the whole row of a subquery is its outputs', () => {
    expect(outputs('SELECT s, to_json(s) FROM (SELECT lower(email) AS e, 1 AS k FROM customers) s')).toEqual([
      expr('s', col('customers', 'email')),
      expr('to_json', col('customers', 'email')),
    ]);
  });

  it('top-level * and t.* are star items per relation, in FROM order (joins left then right)', () => {
    expect(outputs('SELECT *, o.* FROM customers c JOIN orders o ON true, items')).toEqual([
      star('customers'),
      star('orders'),
      star('items'),
      star('orders'),
    ]);
    expect(outputs('TABLE public.customers')).toEqual([star('customers', 'public')]);
  });

  it('* over a subquery or CTE splices its own outputs', () => {
    expect(one('SELECT * FROM (SELECT lower(email) AS e FROM customers) s')).toEqual({
      result: { outputs: [expr('e', col('customers', 'email'))] },
      writes: [],
    });
    expect(
      outputs(
        'WITH w AS (SELECT id, upper(name) AS n FROM staff) SELECT *, w.* FROM customers, w, (SELECT * FROM orders) o',
      ),
    ).toEqual([
      star('customers'),
      expr('id', col('staff', 'id')),
      expr('n', col('staff', 'name')),
      star('orders'),
      expr('id', col('staff', 'id')),
      expr('n', col('staff', 'name')),
    ]);
  });

  it('(expr).* has columns of unknown number: the statement is opaque', () => {
    const lineage = one('SELECT (c).*, (f(c.id)).* FROM customers c');
    expect(lineage.opaque).toBe(true);
    expect(lineage.result?.outputs).toEqual([
      expr('?column?', any(['customers'], 'c'), row('customers'), OPAQUE),
      expr('?column?', col('customers', 'id'), OPAQUE),
    ]);
  });

  it('subquery column aliases rename its outputs', () => {
    expect(outputs('SELECT x, s.y FROM (SELECT email, ssn FROM customers) s(x, y)')).toEqual([
      expr('x', col('customers', 'email')),
      expr('y', col('customers', 'ssn')),
    ]);
  });
});

describe('analyzeSql: output names', () => {
  it('follows PostgreSQL: alias, last field, function name, cast type, ?column?', () => {
    const names = outputs(
      `SELECT email AS e, c.name, lower(email), email::text, 1::int, 'a'::text, CAST(ssn AS varchar),
              1, a + b, CASE WHEN a THEN 1 END, (SELECT max(x) FROM t), EXISTS (SELECT 1), count(*),
              ROW(1), NULLIF(a, b), GREATEST(a, b), current_user, (c).x, arr[1], "Mixed", x COLLATE "C",
              (SELECT 1), ARRAY[1], xmlelement(name a), coalesce(a, b)::text, CASE WHEN a THEN 1 END::text
         FROM customers c`,
    )?.map((o) => (o.kind === 'expr' ? o.name : '*'));
    expect(names).toEqual([
      'e',
      'name',
      'lower',
      'email',
      'int4',
      'text',
      'ssn',
      '?column?',
      '?column?',
      'case',
      'max',
      'exists',
      'count',
      'row',
      'nullif',
      'greatest',
      'current_user',
      'x',
      'arr',
      'Mixed',
      'x',
      '?column?',
      'array',
      'xmlelement',
      'coalesce',
      'text',
    ]);
  });
});

describe('analyzeSql: FROM items', () => {
  it('a name matching a CTE in scope is the CTE; a schema-qualified one is the relation', () => {
    expect(outputs('WITH customers AS (SELECT 1 AS id) SELECT id FROM customers')).toEqual([expr('id')]);
    expect(outputs('WITH customers AS (SELECT 1 AS id) SELECT * FROM public.customers')).toEqual([
      star('customers', 'public'),
    ]);
    // A CTE is visible in subqueries, and an inner WITH shadows an outer one.
    expect(
      outputs(
        'WITH a AS (SELECT ssn FROM c) SELECT (SELECT ssn FROM a), x.* FROM (WITH a AS (SELECT 1 AS k) SELECT * FROM a) x',
      ),
    ).toEqual([expr('ssn', col('c', 'ssn')), expr('k')]);
  });

  it('joins: USING / NATURAL / aliased joins', () => {
    expect(outputs('SELECT id FROM a JOIN b USING (id)')).toEqual([expr('id', any(['a', 'b'], 'id'))]);
    expect(outputs('SELECT * FROM a NATURAL JOIN b FULL JOIN c ON true')).toEqual([
      star('a'),
      star('b'),
      star('c'),
    ]);
    expect(outputs('SELECT j.x, j.* FROM (a JOIN b ON true) AS j')).toEqual([
      expr('x', any(['a', 'b'], 'x')),
      star('a'),
      star('b'),
    ]);
    expect(outputs('SELECT u.id FROM a JOIN b USING (id) AS u')).toEqual([expr('id', any(['a', 'b'], 'id'))]);
  });

  it('LATERAL subqueries see earlier FROM items; plain ones do not', () => {
    expect(outputs('SELECT s.e FROM customers c, LATERAL (SELECT c.email AS e) s')).toEqual([
      expr('e', col('customers', 'email')),
    ]);
    expect(outputs('SELECT s.e FROM customers c, (SELECT c.email AS e) s')).toEqual([expr('e', OPAQUE)]);
    expect(outputs('SELECT * FROM orders o LEFT JOIN LATERAL (SELECT o.total * 2 AS t) s ON true')).toEqual([
      star('orders'),
      expr('t', col('orders', 'total')),
    ]);
  });

  it('functions in FROM: columns derive from the arguments', () => {
    expect(outputs('SELECT g, generate_series FROM generate_series(1, 3) g, generate_series(1, 2)')).toEqual([
      expr('g'),
      expr('generate_series'),
    ]);
    expect(outputs('SELECT u FROM customers c, unnest(c.tags) u')).toEqual([
      expr('u', col('customers', 'tags')),
    ]);
    expect(outputs('SELECT j.a, b FROM customers c, jsonb_to_record(c.data) AS j(a int, b text)')).toEqual([
      expr('a', col('customers', 'data')),
      expr('b', col('customers', 'data')),
    ]);
    expect(outputs('SELECT * FROM customers c, unnest(c.tags) WITH ORDINALITY AS u(tag, n)')).toEqual([
      star('customers'),
      expr('tag', col('customers', 'tags')),
      expr('n'),
    ]);
    expect(outputs('SELECT * FROM customers c, jsonb_each(c.data)')).toEqual([
      star('customers'),
      expr('key', col('customers', 'data')),
      expr('value', col('customers', 'data')),
    ]);
    expect(
      outputs('SELECT * FROM customers c, ROWS FROM (jsonb_to_record(c.data) AS (a int), unnest(c.tags)) r'),
    ).toEqual([
      star('customers'),
      expr('a', col('customers', 'data')),
      expr('unnest', col('customers', 'tags')),
    ]);
    expect(outputs('SELECT * FROM unnest(ARRAY[1], ARRAY[ssn]) u(a, b)')).toEqual([
      expr('a'),
      expr('b', OPAQUE),
    ]);
  });

  it('a function of unknown result type may supply any column (from its arguments)', () => {
    expect(outputs('SELECT x FROM customers c, my_func(c.id) f')).toEqual([
      expr('x', any(['customers'], 'x'), col('customers', 'id')),
    ]);
  });

  it('XMLTABLE and JSON_TABLE: columns derive from their input', () => {
    expect(
      outputs(
        `SELECT xt.*, jt.* FROM docs d,
           XMLTABLE('/r' PASSING d.x COLUMNS id int PATH '@id', n FOR ORDINALITY) xt,
           JSON_TABLE(d.j, '$[*]' COLUMNS (a text PATH '$.a', NESTED PATH '$.b[*]' COLUMNS (b int PATH '$'))) jt`,
      ),
    ).toEqual([
      expr('id', col('docs', 'x')),
      expr('n'),
      expr('a', col('docs', 'j')),
      expr('b', col('docs', 'j')),
    ]);
    expect(outputs("SELECT xmltable.id FROM docs, XMLTABLE('/r' PASSING x COLUMNS id int)")).toEqual([
      expr('id', col('docs', 'x')),
    ]);
  });

  it('VALUES and TABLESAMPLE in FROM', () => {
    expect(outputs("SELECT v.a, column2, v.* FROM (VALUES (1, 'x'), (2, ssn)) v(a)")).toEqual([
      expr('a'),
      expr('column2', OPAQUE),
      expr('a'),
      expr('column2', OPAQUE),
    ]);
    expect(outputs('SELECT email FROM customers TABLESAMPLE bernoulli (10)')).toEqual([
      expr('email', col('customers', 'email')),
    ]);
  });
});

describe('analyzeSql: WITH', () => {
  it('CTE outputs, with column aliases', () => {
    expect(outputs('WITH w(e) AS (SELECT lower(email) FROM customers) SELECT e, w FROM w')).toEqual([
      expr('e', col('customers', 'email')),
      expr('w', col('customers', 'email')),
    ]);
  });

  it('WITH RECURSIVE: the union of its branches, without looping', () => {
    expect(
      outputs(
        `WITH RECURSIVE t(id, path) AS (
           SELECT id, name FROM emp WHERE boss IS NULL
           UNION ALL
           SELECT e.id, t.path || ' / ' || e.name FROM emp e JOIN t ON e.boss = t.id)
         SELECT path, id FROM t`,
      ),
    ).toEqual([expr('path', col('emp', 'name')), expr('id', col('emp', 'id'))]);
    expect(
      outputs(
        'WITH RECURSIVE r AS (SELECT 1 AS n, ssn AS s FROM c UNION SELECT n + 1, upper(s) FROM r WHERE n < 3) SELECT * FROM r',
      ),
    ).toEqual([expr('n'), expr('s', col('c', 'ssn'))]);
  });

  it('data-modifying CTEs: RETURNING as the CTE outputs, and their writes', () => {
    expect(one('WITH d AS (DELETE FROM customers RETURNING email) SELECT * FROM d')).toEqual({
      result: { outputs: [expr('email', col('customers', 'email'))] },
      writes: [],
    });
    expect(
      one(
        `WITH moved AS (DELETE FROM customers WHERE old RETURNING *),
              ins AS (INSERT INTO archive SELECT * FROM moved RETURNING id)
         SELECT count(*) FROM ins`,
      ),
    ).toEqual({
      result: { outputs: [expr('count')] },
      writes: [write('archive', undefined, [star('customers')])],
    });
  });
});

describe('analyzeSql: set operations and VALUES', () => {
  it('output i is the union of every branch’s output i, named by the first', () => {
    expect(
      outputs(
        'SELECT email AS contact FROM customers UNION SELECT phone FROM staff EXCEPT SELECT x FROM (VALUES (1)) v(x)',
      ),
    ).toEqual([expr('contact', col('customers', 'email'), col('staff', 'phone'))]);
    expect(outputs('SELECT * FROM a WHERE x UNION ALL SELECT * FROM a WHERE y')).toEqual([star('a')]);
  });

  it('branches whose * cannot be matched are opaque', () => {
    expect(outputs('SELECT a, b FROM x INTERSECT SELECT * FROM y')).toEqual([
      expr('a', col('x', 'a'), OPAQUE),
      expr('b', col('x', 'b'), OPAQUE),
    ]);
    const lineage = one('SELECT * FROM a UNION SELECT * FROM b');
    expect(lineage.opaque).toBe(true);
    expect(lineage.result?.outputs).toEqual([expr('?column?', row('a'), row('b'), OPAQUE, OPAQUE)]);
  });

  it('VALUES lists, DISTINCT, ORDER BY and LIMIT', () => {
    expect(outputs('VALUES (1, ssn_of(2)), (3, 4)')).toEqual([expr('column1'), expr('column2')]);
    expect(outputs('SELECT DISTINCT ON (id) email FROM customers ORDER BY id, ssn LIMIT 5 OFFSET 2')).toEqual(
      [expr('email', col('customers', 'email'))],
    );
  });
});

describe('analyzeSql: INSERT / UPDATE / DELETE / MERGE', () => {
  it('INSERT … SELECT / VALUES writes by position (columns from the column list) and RETURNING', () => {
    expect(
      one('INSERT INTO archive (a, b) SELECT email, upper(name) FROM customers RETURNING *, id'),
    ).toEqual({
      result: { outputs: [star('archive'), expr('id', col('archive', 'id'))] },
      writes: [
        write(
          'archive',
          ['a', 'b'],
          [expr('email', col('customers', 'email')), expr('upper', col('customers', 'name'))],
        ),
      ],
    });
    expect(one("INSERT INTO t VALUES (1, DEFAULT), (2, 'x')")).toEqual({
      writes: [write('t', undefined, [expr('column1'), expr('column2')])],
    });
    expect(one('INSERT INTO t DEFAULT VALUES')).toEqual({ writes: [] });
  });

  it('INSERT … ON CONFLICT DO UPDATE writes from `excluded` and the target', () => {
    expect(
      one(
        'INSERT INTO t AS x (a, b) SELECT s, n FROM src ON CONFLICT (a) DO UPDATE SET b = excluded.b || x.b RETURNING old.b, new.a',
      ),
    ).toEqual({
      result: { outputs: [expr('b', col('t', 'b')), expr('a', col('t', 'a'))] },
      writes: [
        write('t', ['a', 'b'], [expr('s', col('src', 's')), expr('n', col('src', 'n'))]),
        write('t', ['b'], [expr('b', col('src', 'n'), col('t', 'b'))]),
      ],
    });
  });

  it('UPDATE … SET (incl. multi-column assignment) FROM … RETURNING', () => {
    expect(
      one(
        `UPDATE t x SET a = u.email, (b, c) = (SELECT p.ssn, p.name FROM p WHERE p.id = x.id), (d, e) = (u.q, 4)
           FROM u WHERE u.id = x.id RETURNING x.a, *`,
      ),
    ).toEqual({
      result: { outputs: [expr('a', col('t', 'a')), star('t'), star('u')] },
      writes: [
        write(
          't',
          ['a', 'b', 'c', 'd', 'e'],
          [
            expr('a', col('u', 'email')),
            expr('b', col('p', 'ssn')),
            expr('c', col('p', 'name')),
            expr('d', col('u', 'q')),
            expr('e'),
          ],
        ),
      ],
    });
  });

  it('a WITH on INSERT / UPDATE is in scope for its query, FROM and SET', () => {
    expect(
      one(
        `WITH x AS (SELECT ssn FROM customers), y AS (SELECT id, email FROM staff)
         UPDATE t SET a = (SELECT ssn FROM x LIMIT 1), b = y.email FROM y WHERE y.id = t.id`,
      ).writes,
    ).toEqual([
      write('t', ['a', 'b'], [expr('a', col('customers', 'ssn')), expr('b', col('staff', 'email'))]),
    ]);
    expect(one('WITH x AS (SELECT ssn FROM customers) INSERT INTO t SELECT * FROM x').writes).toEqual([
      write('t', undefined, [expr('ssn', col('customers', 'ssn'))]),
    ]);
  });

  it('DELETE … USING … RETURNING has no writes', () => {
    expect(one('DELETE FROM customers c USING orders o WHERE o.cid = c.id RETURNING c.email, total')).toEqual(
      {
        result: {
          outputs: [
            expr('email', col('customers', 'email')),
            expr('total', any(['customers', 'orders'], 'total')),
          ],
        },
        writes: [],
      },
    );
    expect(one('DELETE FROM customers')).toEqual({ writes: [] });
  });

  it('MERGE: UPDATE SET and INSERT VALUES actions, RETURNING', () => {
    expect(
      one(
        `MERGE INTO t USING (SELECT id, ssn FROM s) src ON t.id = src.id
           WHEN MATCHED THEN UPDATE SET a = src.ssn
           WHEN NOT MATCHED THEN INSERT (a, b) VALUES (src.ssn, 1)
           WHEN NOT MATCHED BY SOURCE THEN DELETE
           RETURNING merge_action(), t.*`,
      ),
    ).toEqual({
      result: { outputs: [expr('merge_action'), star('t')] },
      writes: [
        write('t', ['a'], [expr('a', col('s', 'ssn'))]),
        write('t', ['a', 'b'], [expr('a', col('s', 'ssn')), expr('b')]),
      ],
    });
  });
});

describe('analyzeSql: statements that create relations, EXPLAIN', () => {
  it('CREATE TABLE AS / SELECT INTO / materialized views create their target', () => {
    expect(one('CREATE TEMP TABLE x (a, b) AS SELECT email, ssn FROM customers')).toEqual({
      writes: [
        write(
          'x',
          ['a', 'b'],
          [expr('email', col('customers', 'email')), expr('ssn', col('customers', 'ssn'))],
          {
            creates: true,
            temporary: true,
          },
        ),
      ],
    });
    expect(one('SELECT email INTO leak FROM customers')).toEqual({
      writes: [write('leak', undefined, [expr('email', col('customers', 'email'))], { creates: true })],
    });
    expect(one('CREATE MATERIALIZED VIEW mv AS SELECT * FROM customers')).toEqual({
      writes: [write('mv', undefined, [star('customers')], { creates: true })],
    });
  });

  it('CREATE TABLE AS EXECUTE is opaque', () => {
    expect(one('CREATE TABLE t2 AS EXECUTE p(1)')).toEqual({
      writes: [write('t2', undefined, [expr('?column?', OPAQUE, OPAQUE)], { creates: true })],
      executes: 'p',
      opaque: true,
    });
  });

  it('EXPLAIN ANALYZE executes (its writes count); plain EXPLAIN has neither writes nor result', () => {
    expect(one('EXPLAIN ANALYZE INSERT INTO x SELECT ssn FROM c')).toEqual({
      writes: [write('x', undefined, [expr('ssn', col('c', 'ssn'))])],
    });
    expect(one('EXPLAIN (ANALYZE, BUFFERS) SELECT ssn FROM c')).toEqual({ writes: [] });
    expect(one('EXPLAIN INSERT INTO x SELECT ssn FROM c')).toEqual({ writes: [] });
    expect(one('EXPLAIN (ANALYZE off) INSERT INTO x SELECT ssn FROM c')).toEqual({ writes: [] });
    expect(one('EXPLAIN ANALYZE WITH d AS (UPDATE t SET a = b RETURNING a) SELECT * FROM d').writes).toEqual([
      write('t', ['a'], [expr('a', col('t', 'b'))]),
    ]);
  });
});

describe('analyzeSql: COPY', () => {
  const TEXT: CopyOptions = {
    format: 'text',
    delimiter: '\t',
    null: '\\N',
    quote: '"',
    escape: '"',
    header: false,
  };
  const CSV: CopyOptions = {
    format: 'csv',
    delimiter: ',',
    null: '',
    quote: '"',
    escape: '"',
    header: false,
  };

  it('a relation to STDOUT with the defaults', () => {
    expect(one('COPY customers TO STDOUT')).toEqual({
      copy: { direction: 'to', stdio: true, rel: rel('customers'), options: TEXT },
      writes: [],
    });
  });

  it('columns, FROM STDIN, files and programs', () => {
    expect(one('COPY s.t (a, b) FROM STDIN').copy).toEqual({
      direction: 'from',
      stdio: true,
      rel: rel('t', 's'),
      columns: ['a', 'b'],
      options: TEXT,
    });
    expect(one("COPY t TO '/tmp/x'").copy?.stdio).toBe(false);
    expect(one("COPY t TO PROGRAM 'cat'").copy?.stdio).toBe(false);
    expect(one("COPY t FROM PROGRAM 'cat'").copy?.stdio).toBe(false);
  });

  it('a query, with its lineage', () => {
    expect(one('COPY (SELECT lower(email) FROM customers) TO STDOUT WITH (FORMAT csv)')).toEqual({
      copy: {
        direction: 'to',
        stdio: true,
        query: { outputs: [expr('lower', col('customers', 'email'))] },
        options: CSV,
      },
      writes: [],
    });
    expect(one('COPY (DELETE FROM t RETURNING ssn) TO STDOUT').copy?.query).toEqual({
      outputs: [expr('ssn', col('t', 'ssn'))],
    });
  });

  it('options in the new and the old syntax', () => {
    const options = (sql: string): CopyOptions | undefined => one(sql).copy?.options;
    expect(options('COPY t TO STDOUT WITH CSV HEADER')).toEqual({ ...CSV, header: true });
    expect(options('COPY t TO STDOUT CSV')).toEqual(CSV);
    expect(options('COPY t TO STDOUT BINARY')).toEqual({ ...TEXT, format: 'binary' });
    expect(options('COPY t TO STDOUT (FORMAT binary)')).toEqual({ ...TEXT, format: 'binary' });
    expect(options("COPY t TO STDOUT WITH DELIMITER ';' NULL 'x'")).toEqual({
      ...TEXT,
      delimiter: ';',
      null: 'x',
    });
    expect(options("COPY t TO STDOUT WITH CSV QUOTE '''' DELIMITER '|'")).toEqual({
      ...CSV,
      delimiter: '|',
      quote: "'",
      escape: "'",
    });
    expect(options("COPY t TO STDOUT WITH CSV QUOTE '''' ESCAPE '\\'")).toEqual({
      ...CSV,
      quote: "'",
      escape: '\\',
    });
    expect(options("COPY t TO STDOUT (FORMAT 'csv', HEADER true, NULL 'NULL')")).toEqual({
      ...CSV,
      header: true,
      null: 'NULL',
    });
    expect(options('COPY t TO STDOUT (FORMAT csv, HEADER false)')).toEqual(CSV);
    expect(options('COPY t FROM STDIN (FORMAT csv, HEADER match)')).toEqual({ ...CSV, header: true });
    expect(options('COPY t TO STDOUT (FORMAT csv, HEADER 0)')).toEqual(CSV);
    expect(options('COPY t TO STDOUT (FORMAT csv, HEADER)')).toEqual({ ...CSV, header: true });
    expect(options("COPY t TO STDOUT (FORMAT text, DELIMITER ',')")).toEqual({ ...TEXT, delimiter: ',' });
  });
});

describe('analyzeSql: cursors, prepared statements, other statements', () => {
  it('DECLARE / FETCH / MOVE', () => {
    expect(one('DECLARE cur CURSOR WITH HOLD FOR SELECT email FROM customers')).toEqual({
      writes: [],
      declares: { cursor: 'cur', result: { outputs: [expr('email', col('customers', 'email'))] } },
    });
    expect(one('FETCH 10 FROM cur')).toEqual({ writes: [], fetches: 'cur' });
    expect(one('FETCH ALL IN "Cur"')).toEqual({ writes: [], fetches: 'Cur' });
    expect(one('MOVE cur')).toEqual({ writes: [] });
  });

  it('PREPARE / EXECUTE', () => {
    expect(one('PREPARE p(int) AS SELECT email, $1 FROM customers WHERE id = $1')).toEqual({
      writes: [],
      prepares: {
        name: 'p',
        statement: {
          result: { outputs: [expr('email', col('customers', 'email')), expr('?column?')] },
          writes: [],
        },
      },
    });
    expect(one('PREPARE q AS INSERT INTO t SELECT ssn FROM c').prepares?.statement.writes).toEqual([
      write('t', undefined, [expr('ssn', col('c', 'ssn'))]),
    ]);
    expect(one('EXECUTE p(1)')).toEqual({ writes: [], executes: 'p' });
  });

  it('DDL, SET, DO, CALL and the like: no result, no writes', () => {
    expect(analyzeSql("SET x = 1; DO 'begin end'; CALL f(); CREATE TABLE t (a int); BEGIN; COMMIT")).toEqual(
      Array.from({ length: 6 }, () => ({ writes: [] })),
    );
  });

  it('calls that carry a value past the result (pg_notify, set_config, large objects) are writes', () => {
    const [notify] = analyzeSql("SELECT pg_notify('ch', lower(c.email)) FROM c") ?? [];
    expect(notify?.writes).toEqual([
      {
        target: { name: 'pg_notify()' },
        creates: false,
        temporary: false,
        columns: ['value'],
        source: { outputs: [expr('value', col('c', 'email'))] },
      },
    ]);
    expect(analyzeSql("SELECT set_config('a.b', '1', false)")?.[0]?.writes).toEqual([]);
  });

  it('CREATE VIEW: its columns as a created relation (checked like CREATE TABLE AS)', () => {
    expect(analyzeSql('CREATE TEMP VIEW v (x) AS SELECT ssn FROM c')).toEqual([
      {
        writes: [
          {
            target: { name: 'v' },
            creates: true,
            temporary: true,
            columns: ['x'],
            source: { outputs: [expr('ssn', col('c', 'ssn'))] },
          },
        ],
      },
    ]);
  });

  it('one entry per statement, in order; undefined when the text does not parse', () => {
    expect(analyzeSql('SELECT a FROM t; SELECT 1')).toEqual([
      { result: { outputs: [expr('a', col('t', 'a'))] }, writes: [] },
      { result: { outputs: [expr('?column?')] }, writes: [] },
    ]);
    expect(analyzeSql('')).toEqual([]);
    expect(analyzeSql('SELEKT 1')).toBeUndefined();
    expect(analyzeSql('SELECT 1\0')).toBeUndefined();
  });
});

describe('analyzeSql: robustness', () => {
  it('deep nesting ends in opaque sources, not a stack overflow', () => {
    const n = 1000;
    const deep = (sql: string): StatementLineage[] | undefined => {
      const result = analyzeSql(sql);
      expect(result).toBeDefined();
      return result;
    };
    const subqueries = deep(`SELECT ${'(SELECT '.repeat(n)}email FROM customers${')'.repeat(n)}`);
    expect(subqueries?.[0]?.result?.outputs).toEqual([expr('?column?', OPAQUE)]);
    const calls = deep(`SELECT ${'f('.repeat(n)}email${')'.repeat(n)} FROM customers`);
    expect(calls?.[0]?.result?.outputs).toEqual([expr('f', OPAQUE)]);
    const operators = deep(`SELECT ${Array(n).fill('email').join(' || ')} FROM customers`);
    expect(operators?.[0]?.result?.outputs).toEqual([expr('?column?', OPAQUE, col('customers', 'email'))]);
    const joins = deep(
      `SELECT * FROM t0${Array.from({ length: n }, (_, i) => ` JOIN t${i + 1} ON true`).join('')}`,
    );
    expect(joins?.[0]?.opaque).toBe(true);
    // Long flat UNION chains are not nesting.
    const unions = deep(Array(n).fill('SELECT email FROM customers').join(' UNION ALL '));
    expect(unions?.[0]?.result?.outputs).toEqual([expr('email', col('customers', 'email'))]);
  });

  it('never throws on any statement of the PostgreSQL regression corpus, and is fast', () => {
    const statements: { where: string; stmt: unknown }[] = [];
    const texts: string[] = [];
    for (const file of readdirSync(CORPUS_DIR)
      .filter((f) => f.endsWith('.sql'))
      .sort()) {
      for (const s of splitScript(readFileSync(path.join(CORPUS_DIR, file), 'utf8'))) {
        texts.push(s.sql);
        const outcome = parseSql(s.sql);
        if (!outcome.ok) continue;
        for (const raw of outcome.result.stmts ?? [])
          statements.push({ where: `${file}:${s.line}`, stmt: raw.stmt });
      }
    }
    expect(statements.length).toBeGreaterThan(40_000);
    const failures: string[] = [];
    let opaqueStatements = 0;
    const started = performance.now();
    for (const { where, stmt } of statements) {
      try {
        if (lineageOfStatement(stmt).opaque === true) opaqueStatements++;
      } catch (error) {
        failures.push(`${where}: ${String(error)}`);
      }
    }
    const analysisMs = performance.now() - started;
    const textStarted = performance.now();
    for (const text of texts) analyzeSql(text);
    const textMs = performance.now() - textStarted;
    console.log(
      `lineage corpus: ${statements.length} statements, ${opaqueStatements} opaque; ` +
        `analysis ${analysisMs.toFixed(0)} ms = ${((analysisMs * 1000) / statements.length).toFixed(1)} µs/statement; ` +
        `analyzeSql (parse included) over ${texts.length} texts ${textMs.toFixed(0)} ms`,
    );
    expect(failures).toEqual([]);
    expect(opaqueStatements).toBeLessThan(statements.length / 100);
    expect(analysisMs).toBeLessThan(10_000);
  }, 120_000);

  it('typical statements take microseconds', () => {
    const typical = [
      'SELECT id, email FROM customers WHERE id = $1',
      `SELECT c.id, lower(c.email) AS email, count(o.id) AS orders, sum(o.total)
         FROM customers c LEFT JOIN orders o ON o.cid = c.id
        WHERE c.created_at > now() - interval '7 days' GROUP BY c.id ORDER BY 4 DESC LIMIT 20`,
      'WITH recent AS (SELECT * FROM orders WHERE at > $1) SELECT r.*, (SELECT name FROM customers WHERE id = r.cid) FROM recent r',
      'UPDATE customers SET email = $1 WHERE id = $2 RETURNING id, email',
    ];
    const parsed = typical.map((sql) => {
      const outcome = parseSql(sql);
      if (!outcome.ok) throw new Error(outcome.message);
      return outcome.result.stmts?.[0]?.stmt;
    });
    const rounds = 2000;
    for (const stmt of parsed) lineageOfStatement(stmt);
    const started = performance.now();
    for (let i = 0; i < rounds; i++) for (const stmt of parsed) lineageOfStatement(stmt);
    const perStatement = ((performance.now() - started) * 1000) / (rounds * parsed.length);
    const textStarted = performance.now();
    for (let i = 0; i < rounds / 10; i++) for (const sql of typical) analyzeSql(sql);
    const perText = ((performance.now() - textStarted) * 1000) / ((rounds / 10) * typical.length);
    console.log(
      `lineage typical: ${perStatement.toFixed(1)} µs/statement analysis, ${perText.toFixed(1)} µs with parsing`,
    );
    expect(perStatement).toBeLessThan(500);
  });
});

describe('analyzeSql against a real PostgreSQL', () => {
  it('names and plain-column origins agree with RowDescription', async () => {
    const db = await createTestDatabase(inject('adminUrl'), 'lineage');
    try {
      await withClient(db.url, async (client) => {
        await client.query(`
          CREATE TYPE addr AS (city text, zip text);
          CREATE TABLE customers (id int, email text, ssn text, name text, a addr, tags text[], data jsonb);
          CREATE TABLE orders (id int, cid int, total numeric);
        `);
        const statements = [
          'SELECT id, email, c.ssn FROM customers c',
          `SELECT lower(email), email::varchar, 1::int, 'a'::text, CAST(ssn AS varchar), 1, id + 1,
                  CASE WHEN id > 0 THEN 1 END, (SELECT max(total) FROM orders), EXISTS (SELECT 1),
                  ROW(1), NULLIF(id, 2), GREATEST(id, 2), current_user, (a).city, tags[1], email COLLATE "C",
                  (SELECT 1), ARRAY[1], coalesce(email, ssn)::text, CASE WHEN id > 0 THEN 1 END::text,
                  to_json(c), c, (SELECT email FROM customers LIMIT 1), ARRAY(SELECT 1), current_date,
                  xmlelement(name a), json_object('a': 1), substring(ssn FROM 2), trim(email)
             FROM customers c`,
          "SELECT count(*), max(email), string_agg(ssn, ',') FROM customers",
          'SELECT * FROM (SELECT lower(email) AS e, id FROM customers) s, orders o',
          'SELECT s.e, o.total FROM (SELECT lower(email) AS e FROM customers) s(e), orders o',
          'WITH w(x) AS (SELECT ssn FROM customers) SELECT x, w.* FROM w',
          'SELECT g, u, n FROM generate_series(1, 2) g, unnest(ARRAY[1]) WITH ORDINALITY AS u(u, n)',
          'SELECT column1, column2 FROM (VALUES (1, 2)) v',
          'SELECT email FROM customers UNION SELECT ssn FROM customers',
          'SELECT key, value FROM customers c, jsonb_each(c.data)',
        ];
        for (const sql of statements) {
          const result = await client.query({ text: sql, rowMode: 'array' });
          const ours = one(sql).result?.outputs ?? [];
          // Expand star items to the relation's columns (all single-relation stars here).
          const expanded: { name: string; sources: Source[] }[] = [];
          for (const item of ours) {
            if (item.kind === 'expr') expanded.push(item);
            else {
              const cols = await client.query<{ attname: string }>(
                `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
                [item.rel.name],
              );
              for (const c of cols.rows)
                expanded.push({ name: c.attname, sources: [col(item.rel.name, c.attname)] });
            }
          }
          expect(
            expanded.map((e) => e.name),
            sql,
          ).toEqual(result.fields.map((f) => f.name));
          for (const [i, field] of result.fields.entries()) {
            if (field.tableID === 0) continue;
            const origin = await client.query<{ relname: string; attname: string }>(
              `SELECT c.relname, coalesce(a.attname, '') AS attname
                 FROM pg_class c LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = $2
                WHERE c.oid = $1`,
              [field.tableID, field.columnID],
            );
            const { relname, attname } = origin.rows[0] ?? { relname: '?', attname: '?' };
            const sources = expanded[i]?.sources ?? [];
            if (field.columnID === 0) {
              // A whole-row reference.
              expect(sources, sql).toContainEqual(row(relname));
              continue;
            }
            const found = sources.some(
              (s) =>
                (s.kind === 'column' && s.rel.name === relname && s.column === attname) ||
                (s.kind === 'column-of-any' &&
                  s.rels.some((r) => r.name === relname) &&
                  s.column === attname),
            );
            expect(found, `${sql}: column ${i} (${field.name}) comes from ${relname}.${attname}`).toBe(true);
          }
        }
      });
    } finally {
      await db.drop();
    }
  });
});
