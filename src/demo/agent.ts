/**
 * The scripted "AI agent" of `jit demo`: a separate process that knows nothing but the
 * environment jit started it with. It connects with `new pg.Client()` (libpq-style PG* variables),
 * so everything it does goes through jit's proxy as the session's temporary role.
 *
 * The demo is the list of STEPS: each later scene (a blocked DROP, an UPDATE held for approval,
 * masked PII) is one more entry.
 */
import pg from 'pg';

/** One thing the agent does through the proxy. */
interface Step {
  /** What the agent is trying to find out or do, in words. */
  title: string;
  sql: string;
  /** How to print the result; default: a small table of the rows. */
  show?: (result: pg.QueryResult) => string[];
  /** The statement is supposed to fail (e.g. blocked by jit's policy): its error is the result. */
  expectError?: boolean;
}

const STEPS: Step[] = [
  { title: 'Who am I connected as?', sql: 'SELECT current_user' },
  {
    title: 'Which tables can I see?',
    sql: "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    show: (result) => [result.rows.map((row: { table_name: string }) => row.table_name).join(', ')],
  },
  { title: 'How many customers are there?', sql: 'SELECT count(*) AS customers FROM customers' },
  {
    title: 'Top 5 cities by order total',
    sql: `SELECT c.city, count(*) AS orders, sum(o.amount) AS total
  FROM orders o JOIN customers c ON c.id = o.customer_id
 GROUP BY c.city ORDER BY total DESC LIMIT 5`,
  },
  {
    title: 'A few customers (name and city only, for now)',
    sql: 'SELECT id, full_name, city FROM customers ORDER BY id LIMIT 3',
  },
  {
    title: 'Now their contact details (jit masks personal data before it reaches the agent)',
    sql: 'SELECT id, full_name, email, phone, ssn, card_number FROM customers ORDER BY id LIMIT 3',
  },
  {
    title: 'Try to get the emails out another way: computed, aliased, as JSON',
    sql: `SELECT lower(email) AS contact, ssn AS harmless, row_to_json(c)->>'card_number' AS card
  FROM customers c ORDER BY id LIMIT 2`,
  },
  {
    title: 'Joins and counts still work on masked columns',
    sql: 'SELECT count(DISTINCT email) AS distinct_emails, count(*) AS customers FROM customers',
  },
  {
    title: 'Mark the oldest paid order as shipped',
    sql: `UPDATE orders SET status = 'shipped'
 WHERE id = (SELECT min(id) FROM orders WHERE status = 'paid')
RETURNING id`,
    show: (result) => {
      const ids = result.rows.map((row: { id: number }) => `#${row.id}`).join(', ');
      return [`${result.rowCount ?? 0} row updated (order ${ids || 'none'} is now shipped)`];
    },
  },
  {
    title: 'Call a server function',
    sql: 'SELECT pg_sleep(0)',
    show: (result) => [`ok (${result.rowCount ?? 0} row)`],
  },
  {
    title: 'Clean up by dropping the orders table (jit blocks this)',
    sql: 'DROP TABLE orders',
    expectError: true,
  },
  {
    title: 'Try the same thing hidden behind a comment and a harmless first statement',
    sql: '/* tidy up */ SELECT 1; dRoP tAbLe "orders"',
    expectError: true,
  },
  {
    title: 'Cancel every order at once: an UPDATE without WHERE (held for a human; nobody is watching)',
    sql: "UPDATE orders SET status = 'cancelled'",
    expectError: true,
  },
  {
    title: 'The orders are all still there',
    sql: "SELECT count(*) AS orders, count(*) FILTER (WHERE status = 'cancelled') AS cancelled FROM orders",
  },
];

const INDENT = '    ';
/** pg type OIDs printed right-aligned: int8, int2, int4, float4, float8, numeric. */
const NUMERIC_TYPES = new Set([20, 21, 23, 700, 701, 1700]);

async function main(): Promise<number> {
  let ok = reportEnvironment(process.env);
  const client = new pg.Client();
  // A connection closed under us (session ended) must fail the current step, not crash the process.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    console.log(`agent: could not connect through jit's proxy: ${errorText(error)}`);
    return 1;
  }
  try {
    for (const step of STEPS) ok = (await runStep(client, step)) && ok;
  } finally {
    await client.end().catch(() => {});
  }
  console.log('');
  console.log(ok ? 'agent: done.' : 'agent: done, with unexpected results (see above).');
  return ok ? 0 : 1;
}

/** Prints what the agent was given; false if it can see anything it should not. */
function reportEnvironment(env: NodeJS.ProcessEnv): boolean {
  const { PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD = '', JIT_GRANT_EXPIRES_AT } = env;
  const proxy = `${PGHOST}:${PGPORT}`;
  // Anything that looks like a PostgreSQL URL must point at the proxy, as the session's role.
  const foreignUrls = Object.entries(env)
    .filter(([, value]) => value !== undefined && /postgres(ql)?:\/\//i.test(value))
    .filter(([, value]) => !pointsAt(value as string, proxy, PGUSER))
    .map(([name]) => name);
  const leaks = [...(env.JIT_ADMIN_URL === undefined ? [] : ['JIT_ADMIN_URL']), ...foreignUrls];
  const expires = JIT_GRANT_EXPIRES_AT ? new Date(JIT_GRANT_EXPIRES_AT) : undefined;

  console.log("agent: this is all I was given (my environment's database settings):");
  console.log(`${INDENT}PGHOST=${PGHOST}  PGPORT=${PGPORT}  PGDATABASE=${PGDATABASE}`);
  console.log(`${INDENT}PGUSER=${PGUSER}`);
  console.log(
    `${INDENT}PGPASSWORD=<${PGPASSWORD.length} characters>: a one-time password that only jit's local proxy accepts`,
  );
  console.log(
    leaks.length === 0
      ? `${INDENT}admin credentials: none (no JIT_ADMIN_URL; DATABASE_URL points at the proxy)`
      : `${INDENT}admin credentials: FOUND in ${leaks.join(', ')} — this should never happen`,
  );
  if (expires) {
    const minutes = Math.round((expires.getTime() - Date.now()) / 60_000);
    console.log(`${INDENT}grant expires: ${expires.toISOString()} (in about ${minutes} min)`);
  }
  return leaks.length === 0;
}

function pointsAt(value: string, proxy: string, user: string | undefined): boolean {
  try {
    const url = new URL(value);
    return url.host === proxy && decodeURIComponent(url.username) === user;
  } catch {
    return false;
  }
}

async function runStep(client: pg.Client, step: Step): Promise<boolean> {
  console.log('');
  console.log(`agent: ${step.title}`);
  for (const line of step.sql.split('\n')) console.log(`${INDENT}> ${line}`);
  try {
    const result = await client.query(step.sql);
    for (const line of (step.show ?? table)(result)) console.log(`${INDENT}${line}`);
    if (step.expectError) console.log(`${INDENT}(unexpected: this should have been refused)`);
    return !step.expectError;
  } catch (error) {
    console.log(`${INDENT}${step.expectError ? 'refused' : 'ERROR'}: ${errorText(error)}`);
    return step.expectError === true;
  }
}

/** The rows as a small aligned table: header, rule, one line per row. */
function table(result: pg.QueryResult): string[] {
  const { fields } = result;
  if (fields.length === 0) return [`${result.command} ${result.rowCount ?? 0}`];
  const cells = result.rows.map((row: Record<string, unknown>) =>
    fields.map((field) => text(row[field.name])),
  );
  const widths = fields.map((field, i) =>
    Math.max(field.name.length, ...cells.map((row) => row[i]?.length ?? 0)),
  );
  const line = (values: string[], rightAlign: boolean) =>
    values
      .map((value, i) => {
        const width = widths[i] ?? 0;
        const numeric = rightAlign && NUMERIC_TYPES.has(fields[i]?.dataTypeID ?? 0);
        return numeric ? value.padStart(width) : value.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [
    line(
      fields.map((field) => field.name),
      false,
    ),
    widths.map((width) => '-'.repeat(width)).join('  '),
    ...cells.map((row) => line(row, true)),
  ];
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

function errorText(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code !== 'string') return message;
  return /^[0-9A-Z]{5}$/.test(code) ? `${message} (SQLSTATE ${code})` : `${message} (${code})`;
}

process.exitCode = await main();
