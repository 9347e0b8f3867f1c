/** A held statement waiting for a human. */
export interface ApprovalRequest {
  session: string;
  connection: number;
  /** The statement as the agent sent it (shown to the human, never logged unless audit sql is raw). */
  sql: string;
  normalized: string;
  fingerprint: string;
  rule: string | undefined;
  reason: string;
  requestedAt: Date;
}

/** What the human decided. `approve_fingerprint` approves every later statement of the same shape in this session. */
export interface ApprovalResult {
  outcome: 'approve_once' | 'approve_fingerprint' | 'deny';
  /** Who decided ('unattended', a user name, a broker identity, 'timeout'). */
  approver: string;
  reason?: string;
}

/**
 * Decides held statements. Implementations must get their answer from a human (a paired
 * terminal, the broker's queue): never from anything the agent can reach.
 * `signal` aborts when the policy's approval timeout passes or the connection closes.
 */
export interface Approver {
  request(request: ApprovalRequest, signal: AbortSignal): Promise<ApprovalResult>;
}

/** The approver of a session nobody is watching: denies at once and says what would have helped. */
export class UnattendedApprover implements Approver {
  async request(): Promise<ApprovalResult> {
    return {
      outcome: 'deny',
      approver: 'unattended',
      reason: 'approval needs an attended session (a person running `jit watch` or `jit approve`)',
    };
  }
}
