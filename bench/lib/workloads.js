// @ts-check
// What is measured: pgbench select-only runs in the three protocol modes, and one large
// SELECT through psql. Each runner takes a connection and returns one number (or throws).
import { BenchError, lastLine, runToEnd } from './processes.js';

/** @typedef {import('./postgres.js').Conn} Conn */
/**
 * @typedef {object} Workload
 * @property {string} id stable key
 * @property {string} label shown in progress lines and the table
 * @property {string} unit `TPS` or `rows/s`
 * @property {(conn: Conn, durationS: number) => Promise<number>} run
 */

/**
 * The environment for a PostgreSQL client tool: nothing inherited from PG* variables (a
 * stray PGOPTIONS or PGSERVICE would skew one endpoint), no TLS, the password via PGPASSWORD.
 * @param {string} password
 * @returns {NodeJS.ProcessEnv}
 */
export function clientEnv(password) {
  /** @type {NodeJS.ProcessEnv} */
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('PG') && key !== 'DATABASE_URL') env[key] = value;
  }
  return { ...env, PGPASSWORD: password, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '10' };
}

/**
 * @param {Conn} conn
 * @returns {string[]}
 */
function connArgs(conn) {
  return ['-h', conn.host, '-p', String(conn.port), '-U', conn.user];
}

/**
 * Parses pgbench's "tps = 1234.5 (without initial connection time)" line.
 * @param {string} stdout
 * @returns {number | undefined}
 */
export function parseTps(stdout) {
  const match = /^tps = ([0-9.]+) \(without initial connection time\)/m.exec(stdout);
  return match ? Number(match[1]) : undefined;
}

/**
 * A select-only pgbench run (`-S`, no vacuum) in one protocol mode.
 * @param {'simple' | 'extended' | 'prepared'} mode
 * @param {number} clients
 * @returns {Workload}
 */
function pgbenchSelect(mode, clients) {
  const threads = Math.min(clients, 2);
  return {
    id: `pgbench-${mode}-c${clients}`,
    label: `pgbench -S ${mode} c${clients}`,
    unit: 'TPS',
    async run(conn, durationS) {
      const args = ['-n', '-S', '-M', mode, '-c', String(clients), '-j', String(threads)];
      const result = await runToEnd(
        'pgbench',
        [...args, '-T', String(durationS), ...connArgs(conn), conn.database],
        {
          env: clientEnv(conn.password),
          timeoutMs: (durationS + 60) * 1000,
          what: `pgbench ${args.join(' ')}`,
        },
      );
      const tps = parseTps(result.stdout);
      if (result.code !== 0 || tps === undefined) {
        const why = lastLine(result.stderr) || `exit code ${result.code ?? result.signal}`;
        throw new BenchError('failed', why.replace(/^pgbench: (error: )?/, ''));
      }
      return tps;
    },
  };
}

/** Rows in the `big` table (see postgres.js). */
export const BIG_ROWS = 1_000_000;

/**
 * `SELECT * FROM <table>` (1M rows) through psql with FETCH_COUNT unset: psql reads the whole
 * result (same client-side buffering for every endpoint); measured as rows per wall-clock second.
 * @param {string} id
 * @param {string} label
 * @param {string} table
 * @returns {Workload}
 */
function bigSelect(id, label, table) {
  return {
    id,
    label,
    unit: 'rows/s',
    async run(conn) {
      const args = ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', ...connArgs(conn), '-d', conn.database];
      const result = await runToEnd('psql', [...args, '-c', `SELECT * FROM ${table}`, '-o', '/dev/null'], {
        env: clientEnv(conn.password),
        timeoutMs: 300_000,
        what: `psql SELECT * FROM ${table}`,
      });
      if (result.code !== 0) {
        throw new BenchError(
          'failed',
          lastLine(result.stderr) || `psql exit code ${result.code ?? result.signal}`,
        );
      }
      return BIG_ROWS / (result.ms / 1000);
    },
  };
}

/** Every workload, in the order they run within a round and appear in the table. */
export const WORKLOADS = [
  pgbenchSelect('simple', 1),
  pgbenchSelect('simple', 8),
  pgbenchSelect('prepared', 1),
  pgbenchSelect('prepared', 8),
  pgbenchSelect('extended', 8),
  bigSelect('select-1m', 'SELECT * FROM big, 1M rows via psql', 'big'),
  // `email` and `card_number`: jit's default policy masks both (partial) in every row; the other
  // endpoints send them as stored.
  bigSelect(
    'select-1m-masked',
    'SELECT * FROM big_people, 1M rows, 2 masked columns, via psql',
    'big_people',
  ),
];

/**
 * A short connectivity check through an endpoint: `SELECT count(*) FROM big` via psql.
 * @param {Conn} conn
 */
export async function checkEndpoint(conn) {
  const args = ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', ...connArgs(conn), '-d', conn.database];
  const result = await runToEnd('psql', [...args, '-c', 'SELECT count(*) FROM big'], {
    env: clientEnv(conn.password),
    timeoutMs: 60_000,
    what: 'psql connectivity check',
  });
  if (result.code !== 0) {
    throw new BenchError(
      'failed',
      lastLine(result.stderr) || `psql exit code ${result.code ?? result.signal}`,
    );
  }
  if (result.stdout.trim() !== String(BIG_ROWS)) {
    throw new BenchError('failed', `expected ${BIG_ROWS} rows in big, got "${result.stdout.trim()}"`);
  }
}
