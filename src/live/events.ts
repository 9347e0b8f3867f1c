/**
 * What a live view (the Ink TUI, `jit watch`, CI JSON lines) learns about a session. Plain data:
 * the same objects travel over the control socket as JSON and go to `--events` files.
 */

/** The statement outcomes the audit trail records. */
export type StatementDecision = 'allowed' | 'blocked' | 'approved' | 'denied' | 'error';

/** How a held statement was answered. */
export type HeldOutcome = 'approve_once' | 'approve_fingerprint' | 'deny';

/** The session as a whole: sent first, and again when something about it changes. */
export interface SessionInfoEvent {
  type: 'session';
  /** Epoch ms. */
  at: number;
  session: string;
  target: string;
  role: string;
  identity: { sub: string; email?: string; authenticated: boolean };
  /** Epoch ms when the grant expires. */
  expiresAt: number;
  proxy: { host: string; port: number };
  /** The policy's approval timeout, ms. */
  approvalTimeoutMs: number;
}

/** One finished statement (one audit record of kind `statement`). */
export interface StatementEvent {
  type: 'statement';
  at: number;
  connection: number;
  decision: StatementDecision;
  rule?: string;
  /** Normalized SQL (literals → $n) unless the policy's audit is raw. */
  sql: string;
  durationMs?: number;
  rows?: number;
  sqlstate?: string;
  /** Masked columns (`schema.table.column` or detector names). */
  masked?: string[];
  approver?: string;
  reason?: string;
}

/** A statement waiting for a human. */
export interface HeldEvent {
  type: 'held';
  at: number;
  /** Unique within the session; what a decision refers to. */
  id: string;
  connection: number;
  /** The statement as the agent sent it (shown only to the paired human). */
  sql: string;
  fingerprint: string;
  rule?: string;
  reason: string;
  /** Epoch ms when it will be denied if nobody answers. */
  deadline: number;
}

/** A held statement was answered (by a person, or by the timeout). */
export interface ResolvedEvent {
  type: 'resolved';
  at: number;
  id: string;
  outcome: HeldOutcome;
  approver: string;
  reason?: string;
}

/** Something a watcher should see that is not a statement (a failed pairing attempt, expiry warning…). */
export interface NoticeEvent {
  type: 'notice';
  at: number;
  level: 'info' | 'warn';
  message: string;
}

/** The session ended (child exited, Ctrl-C, expiry, revoke, audit failure). */
export interface EndedEvent {
  type: 'ended';
  at: number;
  reason: string;
}

export type SessionEvent =
  SessionInfoEvent | StatementEvent | HeldEvent | ResolvedEvent | NoticeEvent | EndedEvent;

/** A decision a live view sends back for a held statement. */
export interface Decision {
  id: string;
  outcome: HeldOutcome;
  /** Free text from the person (why they denied, say). */
  reason?: string;
}

/**
 * Where a live view gets its events and sends its decisions: the local session (`jit proxy`,
 * `jit run --tui`) or a control-socket connection (`jit watch`).
 */
export interface LiveSource {
  /** Everything so far a new view needs: the session event, recent statements, pending holds. */
  snapshot(): SessionEvent[];
  /** Batches of new events (a few per frame at most); returns an unsubscribe function. */
  subscribe(listener: (events: SessionEvent[]) => void): () => void;
  /** Answers a held statement; false when it is no longer pending. */
  decide(decision: Decision): boolean;
  /** Whether this view may answer held statements (a paired human). */
  readonly canDecide: boolean;
}
