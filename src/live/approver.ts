import { randomBytes } from 'node:crypto';
import type { ApprovalRequest, ApprovalResult, Approver } from '../proxy/guard/approver.js';
import type { Decision, HeldEvent } from './events.js';
import type { LiveHub } from './hub.js';

/**
 * The approver of an attended session: a held statement is published to the live views and waits
 * for a paired human (the TUI on jit's own terminal, or `jit watch` after pairing) until the
 * policy's timeout, when the guard aborts it and it is denied. With nobody attached,
 * `onUnattended` says so on jit's terminal (one line and the bell).
 */
export class AttendedApprover implements Approver {
  private readonly pending = new Map<string, (result: ApprovalResult) => void>();
  /** Paired views that can answer right now. */
  private deciders = 0;

  constructor(
    private readonly hub: LiveHub,
    private readonly options: { timeoutMs: number; onUnattended?: (held: HeldEvent) => void },
  ) {}

  /** A view that can decide attached; returns the detach function. */
  attachDecider(): () => void {
    this.deciders++;
    let attached = true;
    return () => {
      if (attached) this.deciders--;
      attached = false;
    };
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  request(request: ApprovalRequest, signal: AbortSignal): Promise<ApprovalResult> {
    const id = randomBytes(6).toString('hex');
    const held: HeldEvent = {
      type: 'held',
      at: Date.now(),
      id,
      connection: request.connection,
      sql: request.sql,
      fingerprint: request.fingerprint,
      ...(request.rule !== undefined && { rule: request.rule }),
      reason: request.reason,
      deadline: request.requestedAt.getTime() + this.options.timeoutMs,
    };
    return new Promise<ApprovalResult>((resolve) => {
      const finish = (result: ApprovalResult) => {
        if (!this.pending.delete(id)) return;
        signal.removeEventListener('abort', onAbort);
        this.hub.publish({
          type: 'resolved',
          at: Date.now(),
          id,
          outcome: result.outcome,
          approver: result.approver,
          ...(result.reason !== undefined && { reason: result.reason }),
        });
        resolve(result);
      };
      const onAbort = () =>
        finish({ outcome: 'deny', approver: 'timeout', reason: 'nobody approved it in time' });
      this.pending.set(id, finish);
      signal.addEventListener('abort', onAbort, { once: true });
      this.hub.publish(held);
      if (this.deciders === 0) this.options.onUnattended?.(held);
      if (signal.aborted) onAbort();
    });
  }

  /** A person's answer; false when the statement is no longer waiting. */
  decide(decision: Decision, approver: string): boolean {
    const finish = this.pending.get(decision.id);
    if (!finish) return false;
    finish({
      outcome: decision.outcome,
      approver,
      ...(decision.reason !== undefined && decision.reason !== '' && { reason: decision.reason }),
    });
    return true;
  }
}
