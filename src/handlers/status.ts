import { formatDuration } from '../util/duration.js';
import type { JitSession } from '../session/session.js';

/** One status line about a started session, for stderr. */
export function sessionStartedLine(session: JitSession, targetName: string): string {
  const { grant, connection } = session;
  const remaining = grant.expiresAt.getTime() - Date.now();
  const until = grant.expiresAt
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  return (
    `jit: grant ${grant.role} for target '${targetName}' as ${who(grant.identity)}, valid ${formatDuration(remaining)} (until ${until}); ` +
    `proxy on ${connection.host}:${connection.port}\n`
  );
}

/** One status line about how a session ended. */
export function sessionEndedLine(session: JitSession, what: string): string {
  if (session.revokeError) {
    return (
      `jit: ${what}; could not drop role ${session.grant.role}: ${session.revokeError.message}\n` +
      `  hint: it can no longer log in after its expiry; run \`jit grants gc\` to remove it\n`
    );
  }
  return `jit: ${what}; role ${session.grant.role} dropped\n`;
}

/** The session was stopped because its audit trail could not be written. */
export function auditFailedLine(session: JitSession): string {
  const error = session.auditError;
  return (
    `jit: the audit log could not be written (${error?.message ?? 'unknown error'}); ` +
    'the session was stopped: every connection closed and the grant revoked\n' +
    `  hint: ${error?.hint ?? 'free disk space or pass --audit-log with a writable location'}\n`
  );
}

/** How a status line names the identity: email or subject, marked when not authenticated. */
function who(identity: JitSession['grant']['identity']): string {
  const name = identity.email ?? identity.sub;
  return identity.authenticated ? name : `${name} (unauthenticated)`;
}

/** Said before the grant is issued (it takes a round trip or two to the database). */
export function issuingLine(inputs: {
  target: { name: string };
  ttlMs: number;
  identity: { email?: string; sub: string };
}): string {
  return `jit: issuing a ${formatDuration(inputs.ttlMs)} grant on target '${inputs.target.name}' for ${inputs.identity.email ?? inputs.identity.sub}…\n`;
}
