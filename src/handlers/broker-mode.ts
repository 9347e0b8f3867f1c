import path from 'node:path';
import { defaultAuditDir } from '../audit/paths.js';
import { AuditShipper, pushFile } from '../audit/shipper.js';
import { unsentIn } from '../audit/unsent.js';
import type { BrokerClient } from '../grant/broker-client.js';
import { BrokerGrantIssuer } from '../grant/broker-issuer.js';
import { BrokerApprover } from '../live/broker-approver.js';
import type { HeldEvent } from '../live/events.js';
import type { JitSession, SessionOptions } from '../session/session.js';
import type { LiveRuntime } from './live-runtime.js';
import type { SessionInputs } from './session-inputs.js';

/** What a broker-mode session uses instead of the local issuer and approver. */
export interface BrokerMode {
  /** What JitSession.start takes instead of the local issuer and approver. */
  sessionOptions: Pick<SessionOptions, 'issuer' | 'approver' | 'auditListeners' | 'auditPath'>;
  /** Call once the session started (the approver needs its grant id). */
  started(session: JitSession): void;
  /** After the session ended: the last audit upload; returns a line to print when records are left unsent. */
  finish(): Promise<string | undefined>;
}

/**
 * Wires a session to the team broker (`grant.via: broker`): the broker issues and ends the grant
 * (with approval when its rules want one), held statements wait in the broker's queue for
 * `jit approve`, and every audit record is streamed to the broker (kept locally and marked
 * unsent when it cannot be reached). Undefined for direct-mode targets.
 */
export function brokerMode(
  inputs: SessionInputs,
  live: LiveRuntime,
  options: { reason: string; say: (line: string) => void },
): BrokerMode | undefined {
  const client = inputs.broker;
  if (!client) return undefined;
  let session: JitSession | undefined;
  let auditFile: string | undefined;
  let resending: Promise<void> | undefined;
  const shipper = new AuditShipper(client, () => auditFile);
  const approver = new BrokerApprover(client, () => session?.grant.id, {
    timeoutMs: inputs.policy.approval.timeoutMs,
    hub: live.hub,
    onHeld: (held: HeldEvent) => options.say(heldLine(held)),
  });
  return {
    sessionOptions: {
      issuer: new BrokerGrantIssuer(client, { reason: options.reason, onProgress: options.say }),
      approver,
      auditListeners: [shipper.add],
      // Wraps the session's audit path so the shipper knows the file (for its unsent marker).
      auditPath: (id) => (auditFile = inputs.auditPath(id)),
    },
    started: (s) => {
      session = s;
      resending = resendEarlier(client, [
        defaultAuditDir(process.env),
        auditFile && path.dirname(auditFile),
      ]).then((sent) => {
        if (sent > 0)
          options.say(`jit: sent ${sent} audit record(s) that earlier sessions could not deliver\n`);
      });
    },
    finish: async () => {
      await resending;
      const left = await shipper.finish();
      if (left === 0 || !auditFile) return undefined;
      return (
        `jit: ${left} audit record(s) could not reach the broker; they are kept in ${auditFile}\n` +
        '  hint: the next broker session sends them, or `jit audit push` once the broker is back (nothing is sent twice)\n'
      );
    },
  };
}

function heldLine(held: HeldEvent): string {
  const sql = held.sql.replace(/\s+/g, ' ').trim();
  const short = sql.length > 80 ? `${sql.slice(0, 77)}…` : sql;
  return (
    `jit: held (rule ${held.rule ?? 'policy'}) on connection ${held.connection}: ${short}\n` +
    `     waiting for an approver in the broker's queue (\`jit approve\`; hold ${held.id})\u0007\n`
  );
}

/**
 * Pushes the audit files of earlier sessions that are marked unsent (the broker was down), from
 * `dirs`; files a live session still writes are left to it. Best effort and quiet: whatever
 * fails stays marked for `jit audit push` or the next session. Returns how many records were new.
 */
async function resendEarlier(client: BrokerClient, dirs: (string | undefined)[]): Promise<number> {
  let sent = 0;
  for (const dir of new Set(dirs.filter((d): d is string => d !== undefined))) {
    for (const file of (await unsentIn(dir)).files) {
      try {
        sent += (await pushFile(client, file)).accepted;
      } catch {
        return sent; // the broker refused or went away: leave the rest marked
      }
    }
  }
  return sent;
}
