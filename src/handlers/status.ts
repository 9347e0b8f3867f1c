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
    `jit: grant ${grant.role} for target '${targetName}' valid ${formatDuration(remaining)} (until ${until}); ` +
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
