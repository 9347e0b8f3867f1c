// @ts-check
// Child processes of the benchmark: every one is tracked so that it can be killed at exit,
// every wait has a timeout, and failures become one-line BenchErrors.
import { spawn } from 'node:child_process';
import { clearTimeout, setTimeout } from 'node:timers';

/** The one error type of the benchmark: `message` is a single line meant for a person. */
export class BenchError extends Error {
  /**
   * @param {string} code stable identifier (`timeout`, `not_found`, `failed`, …)
   * @param {string} message one line, says what failed
   * @param {{ cause?: unknown }} [options]
   */
  constructor(code, message, options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BenchError';
    this.code = code;
  }
}

/** @type {Set<import('node:child_process').ChildProcess>} every child still running */
const live = new Set();

/** Output kept from a long-running child, for error messages: the last few lines only. */
export class Tail {
  /** @param {number} [max] */
  constructor(max = 20) {
    /** @type {string[]} */
    this.lines = [];
    this.max = max;
    this.partial = '';
  }

  /** @param {Buffer | string} chunk */
  push(chunk) {
    const text = this.partial + chunk.toString();
    const parts = text.split(/\r?\n/);
    this.partial = parts.pop() ?? '';
    for (const line of parts) if (line.trim() !== '') this.lines.push(line);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }

  /** The last non-empty line, without ANSI colours; '' when there is none. */
  last() {
    const all = this.partial.trim() === '' ? this.lines : [...this.lines, this.partial];
    return stripAnsi(all.at(-1) ?? '').trim();
  }
}

/**
 * Removes ANSI colour sequences.
 * @param {string} text
 */
export function stripAnsi(text) {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
}

/**
 * Starts a tracked child. Its pipes must be consumed by the caller (or be 'ignore').
 * @param {string} command
 * @param {string[]} args
 * @param {import('node:child_process').SpawnOptions} options
 */
export function startChild(command, args, options) {
  const child = spawn(command, args, options);
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
  return child;
}

/**
 * True while the child has neither exited nor failed to spawn.
 * @param {import('node:child_process').ChildProcess} child
 */
export function isRunning(child) {
  return live.has(child);
}

/**
 * Resolves when the child has exited (or at once if it already has); false on timeout.
 * @param {import('node:child_process').ChildProcess} child
 * @param {number} timeoutMs
 */
export function waitForExit(child, timeoutMs) {
  if (!live.has(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', done);
    child.once('error', done);
  });
}

/**
 * Asks a child to stop with `signal`, then kills it after `graceMs`.
 * @param {import('node:child_process').ChildProcess} child
 * @param {NodeJS.Signals} signal
 * @param {number} graceMs
 */
export async function stopChild(child, signal, graceMs) {
  if (!live.has(child)) return;
  child.kill(signal);
  if (await waitForExit(child, graceMs)) return;
  child.kill('SIGKILL');
  await waitForExit(child, 5_000);
}

/**
 * Synchronously signals every child still running (for exit and signal handlers).
 * @param {NodeJS.Signals} signal
 */
export function killAll(signal) {
  for (const child of live) {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Runs a command to completion with a timeout and collects its output.
 * Rejects with a BenchError when it cannot start or times out; a non-zero exit resolves
 * (the caller decides what a failure means and can read stderr).
 * @param {string} command
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, timeoutMs: number, what: string }} options
 * @returns {Promise<{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string, ms: number }>}
 */
export function runToEnd(command, args, { env, timeoutMs, what }) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = startChild(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const cap = 1 << 20;
    child.stdout?.on('data', (chunk) => {
      if (stdout.length < cap) stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk) => {
      if (stderr.length < cap) stderr += chunk.toString();
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      const code = /** @type {NodeJS.ErrnoException} */ (error).code;
      reject(
        code === 'ENOENT'
          ? new BenchError('not_found', `${command} not found (needed for ${what})`, { cause: error })
          : new BenchError('failed', `${what}: cannot start ${command}: ${error.message}`, { cause: error }),
      );
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (timedOut) {
        reject(new BenchError('timeout', `${what} timed out after ${Math.round(timeoutMs / 1000)} s`));
        return;
      }
      resolve({ code, signal, stdout, stderr, ms });
    });
  });
}

/**
 * The last meaningful line of a tool's stderr, for a one-line error.
 * @param {string} stderr
 */
export function lastLine(stderr) {
  const lines = stripAnsi(stderr)
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  return lines.at(-1) ?? '';
}

/**
 * Rejects with a BenchError when `promise` takes longer than `timeoutMs`.
 * @template T
 * @param {Promise<T>} promise
 * @param {number} timeoutMs
 * @param {string} what
 * @returns {Promise<T>}
 */
export function withTimeout(promise, timeoutMs, what) {
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const timeout = new Promise((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new BenchError('timeout', `${what} timed out after ${Math.round(timeoutMs / 1000)} s`)),
      timeoutMs,
    );
  });
  return /** @type {Promise<T>} */ (Promise.race([promise, timeout]).finally(() => clearTimeout(timer)));
}
