import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildChildEnv } from '../child/env.js';
import { runChild, signalExitCode } from '../child/run.js';
import type { SessionCommandOptions } from '../cli/common-options.js';
import { ensureRuntimeDir, runtimeDir } from '../control/paths.js';
import { JitSession } from '../session/session.js';
import { chooseMode, type LiveOptions, LiveRuntime } from './live-runtime.js';
import { resolveSessionInputs } from './session-inputs.js';
import { brokerMode } from './broker-mode.js';
import { startHeld } from './held-start.js';
import { auditFailedLine, issuingLine, sessionEndedLine, sessionStartedLine } from './status.js';

/** Options of `jit run`. */
export type RunCommandOptions = SessionCommandOptions & LiveOptions;

/** How many lines of a `--tui` child's output are shown after the live view closes. */
const OUTPUT_TAIL_LINES = 20;

/** `jit run -- CMD…`: grant → proxy → child; returns the child's exit code. */
export async function runCommand(command: string[], options: RunCommandOptions): Promise<number> {
  const [program, ...args] = command;
  if (!program) throw new Error('unreachable: commander requires a command');
  const inputs = await resolveSessionInputs(options);
  const live = new LiveRuntime(chooseMode('run', options), options, inputs.policy);
  const say = (line: string) => {
    if (live.humanLines) process.stderr.write(line);
  };
  if (live.humanLines) process.stderr.write(issuingLine(inputs));
  const broker = brokerMode(inputs, live, {
    reason: options.reason ?? `jit run ${command.join(' ')}`.slice(0, 200),
    say: (line) => {
      if (!options.quiet) process.stderr.write(line);
    },
  });
  // From here on a signal must not kill jit before the role is dropped. While the grant is issued
  // it cancels the request; while the command runs, runChild passes it on; after a signal, the
  // command is not started, and after the command, the cleanup is finished first.
  const started = await startHeld((signal) =>
    JitSession.start({
      ...inputs,
      approver: live.approver,
      live: live.hub,
      ...broker?.sessionOptions,
      signal,
    }),
  );
  const { session, signals } = started;
  if (!session) return started.cancelled;
  broker?.started(session);
  const runSession = async (): Promise<number> => {
    say(sessionStartedLine(session, inputs.target.name));
    let endedEarly = false;
    void session.ended.then((reason) => {
      if (reason === 'audit_failed') {
        process.stderr.write(auditFailedLine(session));
      } else if (reason === 'expired' || reason === 'revoked') {
        endedEarly = true;
        const what =
          reason === 'expired'
            ? 'the grant expired'
            : `the grant was revoked (${session.revokedBecause ?? 'elsewhere'})`;
        say(sessionEndedLine(session, `${what}; the command keeps running but can no longer connect`));
      }
    });

    const adminPassword = safePassword(inputs.adminUrl);
    const env = buildChildEnv(process.env, session.connection, {
      adminUrlEnv: inputs.target.grant.adminUrlEnv,
      stripNames: inputs.identitySecrets.envNames,
      secrets: [inputs.adminUrl, adminPassword, session.grant.password, ...inputs.identitySecrets.values],
    });
    let exitCode: number;
    let outputFile: string | undefined;
    try {
      await live.attach(session);
      if (signals.received) {
        exitCode = signalExitCode(signals.received);
      } else if (live.mode === 'tui') {
        // The live view owns the terminal: the command gets no input and writes to a private file.
        const dir = runtimeDir();
        await ensureRuntimeDir(dir);
        outputFile = path.join(dir, `${session.id}.out`);
        closeSync(openSync(outputFile, 'a', 0o600));
        exitCode = await runChild(program, args, env, { output: outputFile, signal: stopSignal(session) });
      } else {
        exitCode = await runChild(program, args, env);
      }
    } finally {
      await session.stop('child_exited');
      if (!endedEarly) say(sessionEndedLine(session, 'command exited'));
      const unsent = await broker?.finish();
      if (unsent) process.stderr.write(unsent);
    }
    const summary = await live.finish();
    if (outputFile) process.stderr.write(outputTail(outputFile));
    // A session stopped for want of an audit trail must not look like a success.
    if (session.auditError && exitCode === 0) return 1;
    if (options.failOnBlock && exitCode === 0 && summary.blocked + summary.denied > 0) {
      process.stderr.write(
        `jit: --fail-on-block: ${summary.blocked} statement(s) blocked and ${summary.denied} denied; failing\n`,
      );
      return 1;
    }
    return exitCode;
  };
  try {
    return await runSession();
  } finally {
    signals.done();
  }
}

/** Aborts when the session ends early (the live view's `q`, expiry): the command is stopped too. */
function stopSignal(session: JitSession): AbortSignal {
  const controller = new AbortController();
  void session.ended.then(() => controller.abort());
  return controller.signal;
}

function outputTail(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return '';
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const tail = lines.slice(-OUTPUT_TAIL_LINES);
  const header = `jit: the command's output is in ${file}${lines.length > tail.length ? ` (last ${tail.length} lines):` : ':'}\n`;
  return header + tail.map((line) => `  ${line}\n`).join('');
}

function safePassword(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}
