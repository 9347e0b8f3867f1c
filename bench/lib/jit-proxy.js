// @ts-check
// jit's loopback proxy, started the way a user would: `jit proxy --config … --target …`,
// reading the connection URL it prints on its own stdout line.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clearTimeout, setImmediate, setTimeout } from 'node:timers';
import { URL } from 'node:url';
import { BenchError, Tail, startChild, stopChild, stripAnsi, waitForExit } from './processes.js';

/** @typedef {import('./postgres.js').Conn} Conn */

/**
 * Writes jit.yaml into `dir` and starts the proxy; resolves once it has printed its URL.
 * Rejects with a one-line BenchError (the proxy's own error line when it has one).
 * @param {{ root: string, dir: string, upstream: Conn, adminUrl: string, timeoutMs?: number }} options
 */
export async function startJitProxy({ root, dir, upstream, adminUrl, timeoutMs = 60_000 }) {
  const bin = join(root, 'bin', 'jit.js');
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
    throw new BenchError('not_built', 'jit is not built (dist/cli/main.js missing; run npm run build)');
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const config = join(dir, 'jit.yaml');
  await writeFile(
    config,
    [
      'identity: os-user',
      'targets:',
      '  bench:',
      `    upstream: postgres://${upstream.host}:${upstream.port}/${upstream.database}`,
      '    tls: disable',
      '    grant: { via: direct, admin_url_env: JIT_ADMIN_URL, roles: [app_rw], ttl: 1h, max_ttl: 2h }',
      '',
    ].join('\n'),
  );

  /** @type {NodeJS.ProcessEnv} */
  const env = { NO_COLOR: '1', JIT_ADMIN_URL: adminUrl };
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('PG') && !key.startsWith('JIT_') && key !== 'DATABASE_URL') env[key] = value;
  }
  // Anything jit writes under the user's config/state dirs (audit log, defaults) stays in `dir`.
  for (const name of ['CONFIG', 'STATE', 'DATA', 'CACHE'])
    env[`XDG_${name}_HOME`] = join(dir, name.toLowerCase());

  // --quiet: without a terminal jit would stream one JSON event per statement to stderr (CI
  // mode); the bench measures the proxy (guard, audit, masking), not that log.
  const args = [bin, 'proxy', '--config', config, '--target', 'bench', '--ttl', '1h', '--quiet'];
  const child = startChild(process.execPath, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = new Tail(60);
  const stdout = new Tail(60);
  child.stderr?.on('data', (chunk) => stderr.push(chunk));

  const url = await new Promise((resolve, reject) => {
    let buffered = '';
    let found = false;
    const timer = setTimeout(() => {
      finish(new BenchError('timeout', `jit proxy printed no postgres:// URL within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    /** @param {string | Error} outcome */
    const finish = (outcome) => {
      if (found) return;
      found = true;
      clearTimeout(timer);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    // Keep draining stdout for the whole run so a chatty proxy never blocks on a full pipe.
    child.stdout?.on('data', (chunk) => {
      stdout.push(chunk);
      if (found) return;
      buffered += chunk.toString();
      const lines = buffered.split(/\r?\n/);
      buffered = lines.pop() ?? '';
      const line = lines.map((text) => text.trim()).find((text) => text.startsWith('postgres://'));
      if (line) finish(line);
    });
    child.once('error', (error) =>
      finish(new BenchError('failed', `cannot start jit proxy: ${error.message}`)),
    );
    child.once('exit', (code, signal) => {
      // Let the last stderr chunk arrive before picking the reason.
      setImmediate(() =>
        finish(
          new BenchError(
            'failed',
            `jit proxy exited (${signal ?? `code ${code}`}): ${errorLine(stderr) || errorLine(stdout) || 'no output'}`,
          ),
        ),
      );
    });
  }).catch(async (error) => {
    await stopChild(child, 'SIGINT', 10_000);
    throw error;
  });

  const conn = parseUrl(url);
  return {
    conn,
    pid: /** @type {number} */ (child.pid),
    /** True while the proxy process is alive. */
    alive: () => child.exitCode === null && child.signalCode === null,
    /** Why the proxy stopped, if it did. */
    exitReason: () => errorLine(stderr) || `exit ${child.signalCode ?? child.exitCode}`,
    /** Peak resident set size in MB (VmHWM), read from /proc; undefined when unavailable. */
    peakRssMb: () => peakRssMb(/** @type {number} */ (child.pid)),
    /** SIGINT (jit drops its temporary role), then SIGKILL after 15 s; true on a clean exit. */
    stop: async () => {
      await stopChild(child, 'SIGINT', 15_000);
      await waitForExit(child, 1_000);
      return child.exitCode === 0 || child.signalCode === 'SIGINT';
    },
  };
}

/**
 * The connection described by the proxy's URL
 * (`postgres://user:password@127.0.0.1:port/bench?sslmode=disable`).
 * @param {string} text
 * @returns {Conn}
 */
export function parseUrl(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new BenchError('bad_url', `jit proxy printed an unparsable URL: ${text.slice(0, 80)}`);
  }
  const conn = {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || 'bench',
  };
  if (!conn.user || !conn.password) {
    throw new BenchError('bad_url', 'jit proxy URL has no user or password');
  }
  return conn;
}

/**
 * The most telling line of a crashed process's output: its last line that names an error
 * (a Node stack trace ends with "Node.js v20…", which says nothing), else its last line.
 * @param {Tail} tail
 */
function errorLine(tail) {
  const lines = tail.partial.trim() ? [...tail.lines, tail.partial] : tail.lines;
  const errors = lines.filter(
    (line) => /error|fatal|cannot|failed|refused/i.test(line) && !/^\s+at /.test(line),
  );
  const line = errors.at(-1) ?? tail.last();
  return stripAnsi(line).trim().slice(0, 160);
}

/**
 * Peak RSS of a process in MB from `/proc/<pid>/status` (Linux only).
 * @param {number} pid
 */
function peakRssMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}
