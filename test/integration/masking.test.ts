import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { withClient } from '../helpers/db.js';
import type { RunningProxy, TestTarget } from '../helpers/jit.js';
import { cleanEnv, createTarget, startProxy } from '../helpers/jit.js';
import { msg, RawClient } from '../helpers/raw-client.js';
import { findLeaks, startTap, type Tap } from '../helpers/tap.js';

const serverAdminUrl = inject('adminUrl');
let target: TestTarget;
let proxy: RunningProxy;
let tap: Tap;
let work: string;
let auditFile: string;
let url: string;

const ROWS = 12;

/** A Luhn-valid 16-digit card number. */
function card(i: number): string {
  const body = `411111${String(100000000 + i * 7919).slice(0, 9)}`;
  let sum = 0;
  for (let k = 0; k < body.length; k++) {
    let digit = Number(body[body.length - 1 - k]);
    if (k % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return `${body}${(10 - (sum % 10)) % 10}`;
}

interface Person {
  id: number;
  email: string;
  altEmail: string;
  ssn: string;
  phone: string;
  card: string;
  token: string;
}

const people: Person[] = Array.from({ length: ROWS }, (_, k) => {
  const i = k + 1;
  return {
    id: i,
    email: `jane.doe${i}@mailhost${i}.example`,
    altEmail: `backup.contact${i}@otherhost.example`,
    ssn: `${String(120 + i)}-${String(40 + i)}-${String(6000 + i)}`,
    phone: `(415) 555-${String(1200 + i)}`,
    card: card(i),
    token: `tok_live_${(i * 982451653).toString(36)}secretvalue${i}`,
  };
});
const SECRETS = people.flatMap((p) => [p.email, p.altEmail, p.ssn, p.phone, p.card, p.token]);

function psql(sql: string, extra: string[] = []) {
  return execa('psql', ['-X', '-At', url, ...extra, '-c', sql], {
    env: cleanEnv(),
    extendEnv: false,
    reject: false,
    timeout: 30_000,
  });
}

function psqlScript(script: string, extra: string[] = []) {
  return execa('psql', ['-X', '-At', url, ...extra], {
    env: cleanEnv(),
    extendEnv: false,
    reject: false,
    input: script,
    timeout: 30_000,
  });
}

/** Fails with the leaked values when anything the proxy sent since the last reset holds one. */
function expectNoLeaks(): void {
  expect(findLeaks(tap.received(), SECRETS)).toEqual([]);
}

beforeAll(async () => {
  target = await createTarget(serverAdminUrl);
  work = await mkdtemp(path.join(tmpdir(), 'jit-mask-'));
  auditFile = path.join(work, 'audit.jsonl');
  await withClient(target.adminUrl, async (c) => {
    await c.query(`CREATE TABLE people (
      id int PRIMARY KEY, name text, email text UNIQUE, ssn text, phone text, card_number text,
      api_token text, notes text, profile jsonb, product text, balance numeric(10,2),
      created_at timestamptz DEFAULT '2024-01-15 10:00:00+00')`);
    for (const p of people) {
      await c.query(
        `INSERT INTO people (id, name, email, ssn, phone, card_number, api_token, notes, profile, product, balance)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          p.id,
          `Person ${p.id}`,
          p.email,
          p.ssn,
          p.phone,
          p.card,
          p.token,
          `prefers mail to ${p.altEmail} after 5pm`,
          JSON.stringify({ contact: p.altEmail, tier: 'gold' }),
          `widget-${p.id}`,
          p.id * 10.5,
        ],
      );
    }
    await c.query(`CREATE VIEW people_contacts AS SELECT id, lower(email) AS contact, product FROM people`);
    await c.query(`CREATE TABLE scratch (id int, memo text)`);
    await c.query(`ALTER TABLE scratch OWNER TO ${target.memberRole}`);
    await c.query(`ALTER TABLE people OWNER TO ${target.memberRole}`);
    await c.query(`ALTER VIEW people_contacts OWNER TO ${target.memberRole}`);
  });
  const policy = path.join(work, 'policy.yaml');
  // Every statement allowed (DO, ANALYZE, temp objects…): this file tests masking, not blocking.
  await writeFile(
    policy,
    [
      'rules: []',
      'masking:',
      '  - { columns: ["*.email", "*.ssn", "*.*phone*", "*.*card*", "*.*token*"], strategy: partial }',
      '  - { detect: [email, credit_card, us_ssn, phone, jwt, aws_key], strategy: redact }',
      '',
    ].join('\n'),
  );
  proxy = await startProxy(target, ['--audit-log', auditFile, '--policy', policy]);
  tap = await startTap(proxy.port);
  const viaTap = new URL(proxy.url);
  viaTap.port = String(tap.port);
  url = viaTap.toString();
});

afterAll(async () => {
  await tap?.close();
  await proxy?.stop();
  await target?.cleanup();
  await rm(work, { recursive: true, force: true });
});

beforeEach(() => tap.reset());

describe('masking through the proxy (every channel the client can read)', () => {
  it('masks sensitive columns of a plain SELECT and leaves the others byte for byte', async () => {
    const result = await psql(
      'SELECT id, name, email, ssn, phone, card_number, api_token, product, balance, created_at FROM people ORDER BY id',
    );
    expect(result.exitCode, result.stderr).toBe(0);
    const rows = result.stdout.split('\n').map((line) => line.split('|'));
    expect(rows).toHaveLength(ROWS);
    const first = rows[0] as string[];
    expect(first[0]).toBe('1');
    expect(first[1]).toBe('Person 1');
    expect(first[2]).toBe('j***@mailhost1.example');
    expect(first[3]).toBe('***-**-6001');
    expect(first[4]).toBe('(***) ***-1201');
    expect(first[5]).toMatch(/^\*{12}\d{4}$/);
    expect(first[7]).toBe('widget-1');
    expect(first[8]).toBe('10.50');
    expect(first[9]).toBe('2024-01-15 10:00:00+00');
    expectNoLeaks();
  });

  it('masks aliases, since the origin comes from the catalog and not the name', async () => {
    const result = await psql('SELECT email AS x, ssn AS "harmless" FROM people p WHERE id = 2');
    expect(result.stdout).toBe('j***@mailhost2.example|***-**-6002');
    expectNoLeaks();
  });

  it.each([
    ['lower(email)', 'SELECT lower(email) FROM people'],
    ['concatenation', "SELECT email || '' AS e, 'x' || ssn FROM people"],
    ['casts', 'SELECT email::varchar(200), card_number::text, ssn::bytea FROM people'],
    ['reverse and upper', 'SELECT reverse(email), upper(ssn) FROM people'],
    ['row_to_json', 'SELECT row_to_json(p) FROM people p'],
    ['json_agg of rows', 'SELECT json_agg(p) FROM people p'],
    ['to_jsonb of a row', 'SELECT to_jsonb(p.*) FROM people p'],
    ['string_agg', "SELECT string_agg(ssn, ',') FROM people"],
    ['array_agg', 'SELECT array_agg(phone) FROM people'],
    ['scalar subquery', 'SELECT (SELECT email FROM people q WHERE q.id = p.id) FROM people p'],
    ['CTE', 'WITH x AS (SELECT email AS e, ssn FROM people) SELECT e, ssn FROM x'],
    ['subquery in FROM', 'SELECT s.e FROM (SELECT lower(email) AS e FROM people) s'],
    ['star over a subquery', 'SELECT * FROM (SELECT api_token || 1 AS t FROM people) s'],
    ['CASE', "SELECT CASE WHEN id > 0 THEN email ELSE '' END FROM people"],
    ['UNION', 'SELECT email FROM people UNION ALL SELECT ssn FROM people'],
    ['a view', 'SELECT * FROM people_contacts'],
    ['a whole-row reference', 'SELECT p FROM people p'],
    ['format()', "SELECT format('%s/%s', email, card_number) FROM people"],
    ['json building', "SELECT json_build_object('e', email), jsonb_build_array(phone) FROM people"],
  ])('masks values derived from masked columns: %s', async (_label, sql) => {
    const result = await psql(sql);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.length).toBeGreaterThan(0);
    expectNoLeaks();
  });

  it('keeps aggregates and columns that do not derive from masked ones', async () => {
    const result = await psql(
      "SELECT count(*), count(email), max(id), string_agg(product, ',' ORDER BY id) FROM people",
    );
    expect(result.stdout).toBe(`${ROWS}|${ROWS}|${ROWS}|${people.map((p) => `widget-${p.id}`).join(',')}`);
    const view = await psql('SELECT id, product FROM people_contacts WHERE id = 3');
    expect(view.stdout).toBe('3|widget-3');
  });

  it('masks RETURNING, temporary views and cursors', async () => {
    const result = await psqlScript(
      [
        'UPDATE people SET product = product WHERE id = 1 RETURNING email, ssn, product;',
        'CREATE TEMP VIEW tv AS SELECT email AS x, upper(phone) AS y FROM people;',
        'SELECT x, y FROM tv;',
        'BEGIN;',
        'DECLARE c CURSOR FOR SELECT lower(email) AS e, ssn, id FROM people ORDER BY id;',
        'FETCH 2 FROM c;',
        'FETCH ALL FROM c;',
        'COMMIT;',
        'PREPARE q AS SELECT reverse(card_number) FROM people;',
        'EXECUTE q;',
      ].join('\n'),
    );
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('widget-1');
    expectNoLeaks();
  });

  it('masks values the detectors recognise in columns no rule names (text and jsonb)', async () => {
    const result = await psql('SELECT notes, profile FROM people WHERE id = 4');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe(
      'prefers mail to [REDACTED:email] after 5pm|{"tier": "gold", "contact": "[REDACTED:email]"}',
    );
    expectNoLeaks();
  });

  it.each([
    ['text', 'COPY people TO STDOUT'],
    ['csv with header', 'COPY people TO STDOUT WITH (FORMAT csv, HEADER)'],
    ['a column list', 'COPY people (id, email, ssn, notes) TO STDOUT'],
    ['a query', 'COPY (SELECT lower(email), ssn || phone, product FROM people) TO STDOUT (FORMAT csv)'],
    ['binary', 'COPY people TO STDOUT (FORMAT binary)'],
    ['binary query', 'COPY (SELECT email, id FROM people) TO STDOUT (FORMAT binary)'],
  ])('masks COPY … TO STDOUT: %s', async (_label, sql) => {
    const result = await psql(sql);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.length).toBeGreaterThan(0);
    if (sql === 'COPY people TO STDOUT') expect(result.stdout).toContain('widget-5');
    expectNoLeaks();
  });

  it('masks psql \\copy to a file the same way', async () => {
    const file = path.join(work, 'out.csv');
    const result = await psql(`\\copy people TO '${file}' WITH (FORMAT csv)`);
    expect(result.exitCode, result.stderr).toBe(0);
    const written = await readFile(file);
    expect(findLeaks(written, SECRETS)).toEqual([]);
    expect(written.toString()).toContain('widget-7');
    expectNoLeaks();
  });

  it('masks the extended protocol in node-postgres: parameters, a named statement run twice, binary results', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const byId = await client.query('SELECT id, email, ssn, product FROM people WHERE id = $1', [5]);
      expect(byId.rows).toEqual([
        { id: 5, email: 'j***@mailhost5.example', ssn: '***-**-6005', product: 'widget-5' },
      ]);
      // The same text again: the unnamed statement is parsed anew each time and its plan reused.
      for (const id of [6, 7, 8]) {
        const again = await client.query('SELECT id, email, ssn, product FROM people WHERE id = $1', [id]);
        expect(again.rows).toEqual([
          { id, email: `j***@mailhost${id}.example`, ssn: `***-**-${6000 + id}`, product: `widget-${id}` },
        ]);
      }
      for (let run = 0; run < 2; run++) {
        const named = await client.query({
          name: 'by-id',
          text: 'SELECT lower(email) AS e, card_number, balance FROM people WHERE id = $1',
          values: [run + 1],
        });
        expect(named.rows[0].balance).toBe(String((run + 1) * 10.5 === 21 ? '21.00' : '10.50'));
        expect(named.rows[0].card_number).not.toBe(people[run]?.card);
      }
      const binary = await client.query({
        text: 'SELECT id, email, ssn, profile, balance, created_at FROM people ORDER BY id',
        binary: true,
      } as pg.QueryConfig);
      expect(binary.rows).toHaveLength(ROWS);
      expect(binary.rows[0].id).toBe(1);
      expect(binary.rows[0].email).toBe('j***@mailhost1.example');
      expect(binary.rows[0].created_at).toBeInstanceOf(Date);
    } finally {
      await client.end();
    }
    expectNoLeaks();
  });

  it('masks postgres.js, which prepares once and executes again without a RowDescription', async () => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      for (let run = 0; run < 3; run++) {
        const rows = await sql`SELECT id, email, phone, product FROM people WHERE id = ${run + 1}`;
        expect(rows[0]?.email).toBe(`j***@mailhost${run + 1}.example`);
        expect(rows[0]?.product).toBe(`widget-${run + 1}`);
      }
      const all = await sql`SELECT * FROM people`;
      expect(all).toHaveLength(ROWS);
      // Pipelined: twenty queries in flight on one connection, results in order.
      const pipelined = await Promise.all(
        people.map((p) => sql`SELECT id, lower(email) AS e, ssn, product FROM people WHERE id = ${p.id}`),
      );
      expect(pipelined.map((rows) => rows[0]?.product)).toEqual(people.map((p) => `widget-${p.id}`));
      expect(pipelined.map((rows) => rows[0]?.ssn)).toEqual(people.map((p) => `***-**-${p.ssn.slice(-4)}`));
    } finally {
      await sql.end();
    }
    expectNoLeaks();
  });

  it('masks binary-format values with a raw client and keeps them decodable', async () => {
    const raw = await RawClient.connect(url);
    try {
      const allBinary = Buffer.from([0, 1, 0, 1]); // one result format code: binary
      const bind = (portal: string, statement: string) => {
        const body = Buffer.concat([
          Buffer.from(`${portal}\0${statement}\0`),
          Buffer.from([0, 0, 0, 0]),
          allBinary,
        ]);
        const out = Buffer.alloc(5 + body.length);
        out.write('B', 0, 'latin1');
        out.writeInt32BE(4 + body.length, 1);
        body.copy(out, 5);
        return out;
      };
      raw.send(
        msg.parse('s1', 'SELECT id, email, balance, profile FROM people WHERE id = 6'),
        bind('', 's1'),
        msg.describePortal(''),
        msg.execute(''),
        msg.sync(),
      );
      const first = await raw.untilReady();
      // Again without Describe: the rows must still be masked.
      raw.send(bind('', 's1'), msg.execute(''), msg.sync());
      const second = await raw.untilReady();
      for (const replies of [first, second]) {
        const row = replies.find((m) => m.type === 'D');
        expect(row).toBeDefined();
        const body = row?.body as Buffer;
        expect(body.readInt16BE(0)).toBe(4);
        let offset = 2;
        const values: (Buffer | null)[] = [];
        for (let i = 0; i < 4; i++) {
          const length = body.readInt32BE(offset);
          offset += 4;
          values.push(length < 0 ? null : body.subarray(offset, offset + length));
          offset += Math.max(0, length);
        }
        expect(values[0]?.readInt32BE(0)).toBe(6);
        expect(values[1]?.toString()).toBe('j***@mailhost6.example');
        expect(values[3]?.[0]).toBe(1); // jsonb version byte
        expect(JSON.parse((values[3] as Buffer).subarray(1).toString())).toEqual({
          contact: '[REDACTED:email]',
          tier: 'gold',
        });
      }
    } finally {
      raw.end();
    }
    expectNoLeaks();
  });

  it('masks COPY and cursors run through the extended protocol', async () => {
    const raw = await RawClient.connect(url);
    try {
      raw.send(
        msg.parse('', 'COPY (SELECT id, email, notes FROM people ORDER BY id) TO STDOUT'),
        msg.bind('', ''),
        msg.execute(''),
        msg.sync(),
      );
      const copied = await raw.untilReady();
      const data = Buffer.concat(copied.filter((m) => m.type === 'd').map((m) => m.body)).toString();
      expect(data.split('\n')[0]).toBe('1\t[REDACTED:email]\tprefers mail to [REDACTED:email] after 5pm');
      raw.send(msg.query('BEGIN'));
      await raw.untilReady();
      raw.send(
        msg.parse('', 'DECLARE cur CURSOR FOR SELECT email || phone AS x, id FROM people ORDER BY id'),
        msg.bind('', ''),
        msg.execute(''),
        msg.sync(),
      );
      await raw.untilReady();
      raw.send(
        msg.parse('', 'FETCH 3 FROM cur'),
        msg.bind('', ''),
        msg.describePortal(''),
        msg.execute(''),
        msg.sync(),
      );
      const fetched = await raw.untilReady();
      expect(fetched.filter((m) => m.type === 'D')).toHaveLength(3);
      raw.send(msg.query('COMMIT'));
      await raw.untilReady();
    } finally {
      raw.end();
    }
    expectNoLeaks();
  });

  it('keeps its place in the stream after a refused FunctionCall pipelined with a query', async () => {
    const raw = await RawClient.connect(url);
    try {
      raw.send(msg.functionCall(1), msg.query('SELECT id, email, product FROM people WHERE id = 2'));
      const replies = await raw.untilReady(2);
      const row = replies.find((m) => m.type === 'D')?.body as Buffer;
      expect(row.toString('latin1')).toContain('j***@mailhost2.example');
      expect(row.toString('latin1')).toContain('widget-2');
    } finally {
      raw.end();
    }
    expectNoLeaks();
  });

  it('masks notification payloads, notices and the values errors quote', async () => {
    const result = await psqlScript(
      [
        'LISTEN ch;',
        "SELECT pg_notify('ch', notes) FROM people WHERE id = 8;",
        "SELECT pg_notify('ch', 'call ' || $$" + '(415) 555-1208' + '$$);',
        "DO $$ BEGIN RAISE NOTICE 'found %', (SELECT email || ' ' || card_number FROM people WHERE id = 9); END $$;",
        'SELECT email::int FROM people WHERE id = 10;',
        'SELECT card_number::int FROM people WHERE id = 10;',
        'SELECT ssn::date FROM people WHERE id = 10;',
        `INSERT INTO people (id, email) VALUES (99, '${people[10]?.email}');`,
        `UPDATE people SET id = 1 WHERE email = '${people[11]?.email}';`,
      ].join('\n'),
      ['-v', 'VERBOSITY=verbose'],
    );
    expect(result.stdout + result.stderr).toContain(
      'Asynchronous notification "ch" with payload "prefers mail to [REDACTED:email] after 5pm"',
    );
    expect(result.stdout + result.stderr).toContain('with payload "call [REDACTED:phone]"');
    expect(result.stderr).toContain('22P02');
    expect(result.stderr).toContain('23505');
    expect(result.stderr).toContain('[REDACTED');
    expectNoLeaks();
  });

  it('masks the sample values statistics views hold', async () => {
    const analyzed = await psql('ANALYZE people');
    expect(analyzed.exitCode, analyzed.stderr).toBe(0);
    const stats = await psql(
      "SELECT attname, most_common_vals, histogram_bounds FROM pg_stats WHERE tablename = 'people'",
    );
    expect(stats.exitCode, stats.stderr).toBe(0);
    expect(stats.stdout).toContain('email');
    expectNoLeaks();
  });

  it.each([
    [
      'CREATE TEMP TABLE … AS under another name',
      'CREATE TEMP TABLE exfil1 AS SELECT email AS x FROM people',
    ],
    ['SELECT INTO', 'SELECT id, ssn AS y INTO TEMP exfil2 FROM people'],
    ['INSERT … SELECT', 'INSERT INTO scratch SELECT id, email FROM people'],
    [
      'INSERT … SELECT with a column list',
      'INSERT INTO scratch (memo, id) SELECT card_number, id FROM people',
    ],
    ['UPDATE … SET from a subquery', 'UPDATE scratch SET memo = (SELECT phone FROM people LIMIT 1)'],
    ['a derived value', "INSERT INTO scratch SELECT id, 'x' || lower(email) FROM people"],
    ['a data-modifying CTE', 'WITH s AS (SELECT id, ssn FROM people) INSERT INTO scratch SELECT * FROM s'],
  ])('refuses to copy masked data into an unmasked column: %s', async (_label, sql) => {
    const result = await psql(sql, ['-v', 'VERBOSITY=verbose']);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain('42501');
    expect(result.stderr).toContain('masked-data-copy');
    const copied = await withClient(target.adminUrl, async (c) =>
      Number((await c.query('SELECT count(*) AS n FROM scratch')).rows[0].n),
    );
    expect(copied).toBe(0);
    expectNoLeaks();
  });

  it.each([
    ['a notification payload', "SELECT pg_notify('ch', api_token) FROM people WHERE id = 1"],
    ['a session setting', "SELECT set_config('app.x', api_token, false) FROM people WHERE id = 1"],
    ['a large object', "SELECT lo_from_bytea(0, convert_to(api_token, 'UTF8')) FROM people WHERE id = 1"],
  ])('refuses to carry masked data out through %s', async (_label, sql) => {
    const result = await psql(sql, ['-v', 'VERBOSITY=verbose']);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain('masked-data-copy');
    expectNoLeaks();
  });

  it('allows writes that keep masked data in masked columns, and unmasked data anywhere', async () => {
    const result = await psqlScript(
      [
        'CREATE TEMP TABLE keep AS SELECT id, email FROM people;',
        'SELECT email FROM keep WHERE id = 1;',
        'UPDATE people SET email = lower(email) WHERE id = 1;',
        'INSERT INTO scratch SELECT id, product FROM people WHERE id = 1;',
        'SELECT memo FROM scratch;',
        'DELETE FROM scratch;',
      ].join('\n'),
    );
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      'SELECT 12',
      'j***@mailhost1.example',
      'UPDATE 1',
      'INSERT 0 1',
      'widget-1',
      'DELETE 1',
    ]);
    expectNoLeaks();
  });

  it('lists masked columns and value counts in the audit record of each statement', async () => {
    const result = await psql(
      `SELECT email, ssn, notes, product FROM people WHERE id <= 3 /* audit-probe */`,
    );
    expect(result.exitCode, result.stderr).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const records = (await readFile(auditFile, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const record = records.find(
      (r) => r.kind === 'statement' && String(r.sql).includes('notes, product FROM people WHERE id <='),
    );
    expect(record?.masked).toEqual(['detector:email', 'public.people.email', 'public.people.ssn']);
    expect((record?.detail as { masked_values: Record<string, number> }).masked_values).toEqual({
      'detector:email': 3,
      'public.people.email': 3,
      'public.people.ssn': 3,
    });
  });
});

describe('masking when the catalog cannot be read', () => {
  it('closes the connection with a clear FATAL rather than send a result it cannot classify', async () => {
    // connection_limit 1: the client holds the grant role's only connection, so the masking
    // catalog connection is refused by PostgreSQL.
    const limited = await createTarget(serverAdminUrl, { connectionLimit: 1 });
    const limitedProxy = await startProxy(limited);
    try {
      const result = await execa(
        'psql',
        ['-X', '-At', limitedProxy.url, '-c', 'SELECT id, email FROM customers'],
        {
          env: cleanEnv(),
          extendEnv: false,
          reject: false,
          timeout: 30_000,
        },
      );
      expect(result.exitCode).not.toBe(0);
      expect(result.stdout).not.toContain('@example.com');
      expect(result.stderr).toContain('cannot read the catalog for masking');
      expect(result.stderr).toContain('rather than send data unmasked');
    } finally {
      await limitedProxy.stop();
      await limited.cleanup();
    }
  });
});
