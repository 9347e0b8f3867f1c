#!/usr/bin/env node
// @ts-check
// `npm run bench:cpu`: what each proxy costs in CPU per transaction. A fixed number of pgbench
// transactions (8 clients) runs through PgBouncer, the bare Node relay and jit's proxy in turn;
// each proxy's user + system time (all its threads, from /proc) is divided by the transaction
// count. On a shared, noisy machine this is much steadier than TPS, so it is what to compare
// before and after a change to the hot path. See bench/README.md.
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startBareRelay } from './lib/bare-relay.js';
import { startJitProxy } from './lib/jit-proxy.js';
import { freePort } from './lib/net.js';
import { findPgbouncer, startPgbouncer } from './lib/pgbouncer.js';
import { oneLine, prepareDatabase, randomSecret, startPostgres } from './lib/postgres.js';
import { BenchError, killAll, lastLine, runToEnd } from './lib/processes.js';
import { median } from './lib/report.js';
import { clientEnv } from './lib/workloads.js';

/** @typedef {import('./lib/postgres.js').Conn} Conn */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MODES = ['simple', 'prepared', 'extended'];
/** The label of the jit given with `--against`. */
const AGAINST = 'jit (against)';
const USAGE = `usage: node bench/cpu.js [--transactions N] [--rounds N] [--modes LIST] [--against DIR]
  --transactions N   pgbench transactions per run, over 8 clients (default 80000)
  --rounds N         runs per mode and proxy; the table shows the median (default 3)
  --modes LIST       comma-separated pgbench protocols (default simple,prepared,extended)
  --against DIR      also run the jit built in DIR (another checkout, after npm run build),
                     right after this one in every round, and compare them run by run`;

/** @param {string} line */
function progress(line) {
  process.stderr.write(`${line}\n`);
}

/** @param {string[]} argv */
function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      transactions: { type: 'string' },
      rounds: { type: 'string' },
      modes: { type: 'string' },
      against: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  /** @param {string | undefined} text @param {string} name @param {number} fallback */
  const positive = (text, name, fallback) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) {
      throw new BenchError('bad_option', `\`--${name}\` must be a positive integer (got "${text}")`);
    }
    return value;
  };
  const modes = (values.modes ?? MODES.join(',')).split(',').filter(Boolean);
  const unknown = modes.find((mode) => !MODES.includes(mode));
  if (unknown !== undefined || modes.length === 0) {
    throw new BenchError('bad_option', `\`--modes\` takes ${MODES.join(', ')} (got "${values.modes}")`);
  }
  // Whole transactions per client.
  const transactions = Math.ceil(positive(values.transactions, 'transactions', 80_000) / 8) * 8;
  const against = values.against === undefined ? undefined : resolve(values.against);
  if (against !== undefined && !existsSync(join(against, 'dist', 'cli', 'main.js'))) {
    throw new BenchError(
      'bad_option',
      `\`--against\` needs a built checkout (no dist/cli/main.js in ${against})`,
    );
  }
  return { transactions, rounds: positive(values.rounds, 'rounds', 3), modes, against };
}

/**
 * User + system CPU milliseconds of a process, all threads (/proc/<pid>/stat fields 14 and 15).
 * @param {number} pid
 */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * (1000 / 100); // USER_HZ is 100 on Linux
}

/**
 * @param {Conn} conn
 * @param {string} mode
 * @param {number} transactions
 */
async function pgbench(conn, mode, transactions) {
  const args = ['-n', '-S', '-M', mode, '-c', '8', '-j', '2', '-t', String(transactions / 8)];
  const result = await runToEnd(
    'pgbench',
    [...args, '-h', conn.host, '-p', String(conn.port), '-U', conn.user, conn.database],
    { env: clientEnv(conn.password), timeoutMs: 600_000, what: `pgbench ${args.join(' ')}` },
  );
  if (result.code !== 0) {
    throw new BenchError('failed', lastLine(result.stderr) || `pgbench exit code ${result.code}`);
  }
}

async function main() {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    progress(`bench:cpu: ${oneLine(error)}`);
    progress(USAGE);
    return 2;
  }
  const { transactions, rounds, modes, against } = options;
  const pgbouncerBin = await findPgbouncer();
  if (!pgbouncerBin) {
    progress('pgbouncer not found: apt-get install pgbouncer');
    return 1;
  }
  const tmpRoot = await mkdtemp(join(tmpdir(), 'jit-bench-cpu-'));
  if (userInfo().uid === 0) await chmod(tmpRoot, 0o755);
  /** @type {Awaited<ReturnType<typeof startPostgres>> | undefined} */
  let postgres;
  /** @type {(() => Promise<unknown>)[]} */
  const stops = [];
  process.on('exit', () => {
    killAll('SIGKILL');
    postgres?.kill();
  });
  try {
    progress('setup: embedded PostgreSQL, PgBouncer, the bare relay, jit proxy');
    postgres = await startPostgres({
      dataDir: join(tmpRoot, 'pgdata'),
      port: await freePort(),
      password: randomSecret(),
    });
    const { login } = await prepareDatabase(postgres.admin, () => {});
    const admin = postgres.admin;
    const pgbouncer = await startPgbouncer({
      path: pgbouncerBin.path,
      dir: join(tmpRoot, 'pgbouncer'),
      port: await freePort(),
      upstream: login,
    });
    stops.push(pgbouncer.stop);
    const relay = await startBareRelay({ port: await freePort(), upstream: login });
    stops.push(relay.stop);
    const proxy = await startJitProxy({
      root: ROOT,
      dir: join(tmpRoot, 'jit'),
      upstream: login,
      adminUrl: `postgres://${admin.user}:${encodeURIComponent(admin.password)}@${admin.host}:${admin.port}/bench`,
    });
    stops.push(proxy.stop);

    /** @type {[string, Conn, number | undefined][]} */
    const proxies = [
      ['PgBouncer', pgbouncer.conn, pgbouncer.pid],
      ['bare Node relay', relay.conn, relay.pid],
      ['jit', proxy.conn, proxy.pid],
    ];
    if (against !== undefined) {
      const other = await startJitProxy({
        root: against,
        dir: join(tmpRoot, 'jit-against'),
        upstream: login,
        adminUrl: `postgres://${admin.user}:${encodeURIComponent(admin.password)}@${admin.host}:${admin.port}/bench`,
      });
      stops.push(other.stop);
      proxies.push([AGAINST, other.conn, other.pid]);
    }
    progress('warm-up');
    for (const [, conn] of proxies) await pgbench(conn, 'simple', 8_000);

    /** @type {Map<string, number[]>} µs per transaction, by "mode proxy" */
    const samples = new Map();
    for (let round = 0; round < rounds; round++) {
      for (const mode of modes) {
        // With --against, the two jit builds swap places every other round (no position bias).
        const order =
          against !== undefined && round % 2 === 1
            ? [...proxies.slice(0, 2), ...proxies.slice(2).reverse()]
            : proxies;
        for (const [name, conn, pid] of order) {
          if (pid === undefined) continue;
          const before = cpuMs(pid);
          await pgbench(conn, mode, transactions);
          const us = ((cpuMs(pid) - before) * 1000) / transactions;
          const key = `${mode}\u0000${name}`;
          samples.set(key, [...(samples.get(key) ?? []), us]);
          progress(`round ${round + 1}/${rounds}: ${mode} via ${name}: ${us.toFixed(1)} µs/transaction`);
        }
      }
    }

    const lines = [
      `CPU per transaction (µs, user + system, all threads), pgbench -S -c 8, ${transactions.toLocaleString('en-US')} transactions, median of ${rounds}`,
      '',
      `| protocol | PgBouncer | bare Node relay | jit | jit/relay |${against ? ` jit in ${against} | lower, run by run |` : ''}`,
      `|---|--:|--:|--:|--:|${against ? '--:|---|' : ''}`,
    ];
    const cell = (/** @type {number | undefined} */ value) => (value === undefined ? '–' : value.toFixed(1));
    for (const mode of modes) {
      const runs = (/** @type {string} */ name) => samples.get(`${mode}\u0000${name}`) ?? [];
      const [pgb, relayUs, jitUs, otherUs] = proxies.map(([name]) =>
        runs(name).length > 0 ? median(runs(name)) : undefined,
      );
      const ratio = jitUs !== undefined && relayUs ? (jitUs / relayUs).toFixed(2) : '–';
      let line = `| ${mode} | ${cell(pgb)} | ${cell(relayUs)} | ${cell(jitUs)} | ${ratio} |`;
      if (against) {
        // The two jit builds ran back to back in each round: count the rounds this tree used less.
        const mine = runs('jit');
        const theirs = runs(AGAINST);
        const wins = mine.filter((us, i) => us < (theirs[i] ?? Infinity)).length;
        line += ` ${cell(otherUs)} | this tree in ${wins} of ${mine.length} |`;
      }
      lines.push(line);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } catch (error) {
    progress(`bench:cpu: ${oneLine(error) || 'failed'}`);
    return 1;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await postgres?.stop().catch(() => {});
    await rm(tmpRoot, { recursive: true, force: true }).catch(() => {});
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    progress(`bench:cpu: ${oneLine(error)}`);
    process.exit(1);
  },
);
