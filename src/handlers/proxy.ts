import { connectionUrl } from '../child/env.js';
import type { ProxyCommandOptions } from '../cli/proxy.js';
import { ConfigError } from '../config/schema.js';
import { JitSession } from '../session/session.js';
import { chooseMode, LiveRuntime } from './live-runtime.js';
import { resolveSessionInputs } from './session-inputs.js';
import { brokerMode } from './broker-mode.js';
import { startHeld } from './held-start.js';
import { auditFailedLine, issuingLine, sessionEndedLine, sessionStartedLine } from './status.js';

/** `jit proxy`: grant → proxy in the foreground until Ctrl-C, SIGTERM or expiry. */
export async function proxyCommand(options: ProxyCommandOptions): Promise<number> {
  const port = parsePort(options.port);
  const inputs = await resolveSessionInputs(options);
  const live = new LiveRuntime(chooseMode('proxy', options), options, inputs.policy);
  if (live.humanLines) process.stderr.write(issuingLine(inputs));
  const broker = brokerMode(inputs, live, {
    reason: options.reason ?? 'jit proxy',
    say: (line) => {
      if (!options.quiet) process.stderr.write(line);
    },
  });
  // Ctrl-C, SIGTERM or the terminal going away cancels the grant request, or ends the session;
  // a second one must not cut its cleanup short (the role dropped, the audit log closed, the
  // socket removed).
  const started = await startHeld(
    (signal) =>
      JitSession.start({
        ...inputs,
        port,
        approver: live.approver,
        live: live.hub,
        ...broker?.sessionOptions,
        signal,
      }),
    (session) => void session.stop('signal'),
  );
  const { session, signals } = started;
  if (!session) return started.cancelled;
  broker?.started(session);
  const serve = async (): Promise<number> => {
    process.stdout.write(`${connectionUrl(session.connection)}\n`);
    if (live.humanLines) process.stderr.write(sessionStartedLine(session, inputs.target.name));
    if (live.humanLines && live.mode !== 'tui')
      process.stderr.write('jit: press Ctrl-C to end the session\n');
    try {
      await live.attach(session);
    } catch (error) {
      await session.stop('stopped');
      await live.finish();
      throw error;
    }

    const reason = await session.ended;
    await session.stop(reason);
    const summary = await live.finish();
    const unsent = await broker?.finish();
    if (unsent) process.stderr.write(unsent);
    if (reason === 'audit_failed') process.stderr.write(auditFailedLine(session));
    if (live.humanLines || session.revokeError) {
      process.stderr.write(
        sessionEndedLine(
          session,
          reason === 'expired'
            ? 'the grant expired'
            : reason === 'revoked'
              ? `the grant was revoked (${session.revokedBecause ?? 'elsewhere'})`
              : 'session ended',
        ),
      );
    }
    if (session.revokeError || session.auditError) return 1;
    if (options.failOnBlock && summary.blocked + summary.denied > 0) {
      process.stderr.write(
        `jit: --fail-on-block: ${summary.blocked} statement(s) blocked and ${summary.denied} denied; failing\n`,
      );
      return 1;
    }
    return 0;
  };
  try {
    return await serve();
  } finally {
    signals.done();
  }
}

function parsePort(text: string | undefined): number {
  if (text === undefined) return 0;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError('bad_port', `\`--port\` must be a port number from 1 to 65535 (got "${text}")`);
  }
  return port;
}
