import type { BrokerClient } from '../grant/broker-client.js';
import type { ApprovalRequest, ApprovalResult, Approver } from '../proxy/guard/approver.js';
import type { HeldEvent } from './events.js';
import type { LiveHub } from './hub.js';

/** How long one long-poll for a decision lasts before it is asked again. */
const WAIT_SECONDS = 20;
/** Pause after a failed poll (the broker restarting) before asking again. */
const RETRY_MS = 1000;

/**
 * Held statements of a broker-mode session go to the broker's queue, where approvers (other
 * people, `jit approve`) decide; the answer comes back through a long-poll within a second.
 * Local views (the TUI, `jit watch`) see the held statement and its answer but cannot decide:
 * in team mode the approver is another authenticated person. Fails closed: a broker that cannot
 * be reached, or no answer before the policy's timeout, denies the statement.
 */
export class BrokerApprover implements Approver {
  constructor(
    private readonly client: BrokerClient,
    private readonly grantId: () => string | undefined,
    private readonly options: { timeoutMs: number; hub?: LiveHub; onHeld?: (held: HeldEvent) => void },
  ) {}

  async request(request: ApprovalRequest, signal: AbortSignal): Promise<ApprovalResult> {
    const result = await this.ask(request, signal).catch((error: unknown): ApprovalResult => ({
      outcome: 'deny',
      approver: 'broker',
      reason: `the broker could not be asked (${error instanceof Error ? error.message : String(error)})`,
    }));
    return result;
  }

  private async ask(request: ApprovalRequest, signal: AbortSignal): Promise<ApprovalResult> {
    const grantId = this.grantId();
    if (!grantId) return { outcome: 'deny', approver: 'broker', reason: 'no broker grant for this session' };
    let hold = await this.client.createHold({
      grant_id: grantId,
      sql: request.sql,
      ...(request.rule !== undefined && { rule: request.rule }),
      reason: request.reason,
      fingerprint: request.fingerprint,
      connection: request.connection,
      timeout_seconds: Math.max(1, Math.ceil(this.options.timeoutMs / 1000)),
    });
    const held: HeldEvent = {
      type: 'held',
      at: Date.now(),
      id: hold.id,
      connection: request.connection,
      sql: request.sql,
      fingerprint: request.fingerprint,
      ...(request.rule !== undefined && { rule: request.rule }),
      reason: request.reason,
      deadline: Date.parse(hold.deadline),
    };
    this.options.hub?.publish(held);
    this.options.onHeld?.(held);
    let result: ApprovalResult;
    try {
      while (hold.status === 'pending' && !signal.aborted) {
        try {
          hold = await this.client.getHold(hold.id, WAIT_SECONDS, signal);
        } catch (error) {
          if (signal.aborted || Date.now() > held.deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        }
      }
      const approver = hold.decided_by ?? 'broker';
      const reason = hold.decision_reason;
      if (hold.status === 'approved') {
        result = {
          outcome: hold.scope === 'fingerprint' ? 'approve_fingerprint' : 'approve_once',
          approver,
          ...(reason !== undefined && { reason }),
        };
      } else if (hold.status === 'pending' || hold.status === 'expired') {
        result = {
          outcome: 'deny',
          approver: 'timeout',
          reason: 'nobody approved it in time (broker queue)',
        };
      } else {
        result = { outcome: 'deny', approver, ...(reason !== undefined && { reason }) };
      }
    } catch (error) {
      result = {
        outcome: 'deny',
        approver: 'broker',
        reason: `lost the broker while waiting (${error instanceof Error ? error.message : String(error)})`,
      };
    }
    this.options.hub?.publish({
      type: 'resolved',
      at: Date.now(),
      id: held.id,
      outcome: result.outcome,
      approver: result.approver,
      ...(result.reason !== undefined && { reason: result.reason }),
    });
    return result;
  }
}
