import { buildChildEnv } from '../child/env.js';
import { runChild } from '../child/run.js';
import type { SessionCommandOptions } from '../cli/common-options.js';
import { JitSession } from '../session/session.js';
import { resolveSessionInputs } from './session-inputs.js';
import { auditFailedLine, sessionEndedLine, sessionStartedLine } from './status.js';

/** `jit run -- CMD…`: grant → proxy → child; returns the child's exit code. */
export async function runCommand(command: string[], options: SessionCommandOptions): Promise<number> {
  const [program, ...args] = command;
  if (!program) throw new Error('unreachable: commander requires a command');
  const inputs = await resolveSessionInputs(options);
  const say = (line: string) => {
    if (!options.quiet) process.stderr.write(line);
  };
  const session = await JitSession.start(inputs);
  say(sessionStartedLine(session, inputs.target.name));
  let expired = false;
  void session.ended.then((reason) => {
    if (reason === 'audit_failed') {
      process.stderr.write(auditFailedLine(session));
    } else if (reason === 'expired') {
      expired = true;
      say(
        sessionEndedLine(session, 'the grant expired; the command keeps running but can no longer connect'),
      );
    }
  });

  const adminPassword = safePassword(inputs.adminUrl);
  const env = buildChildEnv(process.env, session.connection, {
    adminUrlEnv: inputs.target.grant.adminUrlEnv,
    stripNames: inputs.identitySecrets.envNames,
    secrets: [inputs.adminUrl, adminPassword, session.grant.password, ...inputs.identitySecrets.values],
  });
  let exitCode: number;
  try {
    exitCode = await runChild(program, args, env);
  } finally {
    await session.stop('child_exited');
    if (!expired) say(sessionEndedLine(session, 'command exited'));
  }
  // A session stopped for want of an audit trail must not look like a success.
  return session.auditError && exitCode === 0 ? 1 : exitCode;
}

function safePassword(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}
