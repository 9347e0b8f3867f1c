import { URL, fileURLToPath } from 'node:url';
import { waitForPort } from './net.js';
import { BenchError, isRunning, startChild, stopChild } from './processes.js';

const SCRIPT = fileURLToPath(new URL('./bare-relay-process.js', import.meta.url));

/**
 * Starts the bare Node relay (bare-relay-process.js) on `port` in front of `upstream`: a
 * reference for what a Node proxy costs before it does any work.
 * @param {{ port: number, upstream: import('./postgres.js').Conn }} options
 */
export async function startBareRelay({ port, upstream }) {
  const child = startChild(process.execPath, [SCRIPT, String(port), upstream.host, String(upstream.port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += String(chunk)));
  const listening = await waitForPort(port, 10_000, () => !isRunning(child));
  if (!listening) {
    await stopChild(child, 'SIGTERM', 2_000);
    throw new BenchError(
      'failed',
      `the bare relay did not start: ${stderr.trim() || `exit code ${child.exitCode}`}`,
    );
  }
  return {
    conn: { ...upstream, host: '127.0.0.1', port },
    pid: child.pid,
    stop: () => stopChild(child, 'SIGTERM', 2_000),
  };
}
