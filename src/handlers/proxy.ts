import { connectionUrl } from '../child/env.js';
import type { ProxyCommandOptions } from '../cli/proxy.js';
import { ConfigError } from '../config/schema.js';
import { JitSession } from '../session/session.js';
import { resolveSessionInputs } from './session-inputs.js';
import { auditFailedLine, sessionEndedLine, sessionStartedLine } from './status.js';

/** `jit proxy`: grant → proxy in the foreground until Ctrl-C, SIGTERM or expiry. */
export async function proxyCommand(options: ProxyCommandOptions): Promise<number> {
  const port = parsePort(options.port);
  const inputs = await resolveSessionInputs(options);
  const session = await JitSession.start({ ...inputs, port });
  process.stdout.write(`${connectionUrl(session.connection)}\n`);
  if (!options.quiet) process.stderr.write(sessionStartedLine(session, inputs.target.name));
  if (!options.quiet) process.stderr.write('jit: press Ctrl-C to end the session\n');

  const onSignal = () => void session.stop('signal');
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('SIGHUP', onSignal);
  const reason = await session.ended;
  await session.stop(reason);
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  process.removeListener('SIGHUP', onSignal);
  if (reason === 'audit_failed') process.stderr.write(auditFailedLine(session));
  if (!options.quiet || session.revokeError) {
    process.stderr.write(
      sessionEndedLine(session, reason === 'expired' ? 'the grant expired' : 'session ended'),
    );
  }
  return session.revokeError || session.auditError ? 1 : 0;
}

function parsePort(text: string | undefined): number {
  if (text === undefined) return 0;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError('bad_port', `\`--port\` must be a port number from 1 to 65535 (got "${text}")`);
  }
  return port;
}
