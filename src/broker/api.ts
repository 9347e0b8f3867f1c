/**
 * The broker's HTTP API, shared by the broker (`jit broker`) and the CLI. JSON bodies; every
 * `/v1` call carries `Authorization: Bearer <OIDC token>` (a person's ID token from `jit login`, or
 * a CI job's token), verified against the broker's trusted issuers. Errors are
 * `{ error: <code>, message: <one line> }` with 400 (bad request), 401 (no or bad token),
 * 403 (not allowed), 404 (unknown id), 409 (wrong state), 503 (state database unavailable).
 */

/** Where a grant is in its life. */
export type GrantStatus =
  | 'pending' // waiting for an approver
  | 'approved' // approved; the requester may now issue it (POST /v1/grants/:id/issue)
  | 'denied'
  | 'active' // the temporary role exists
  | 'revoked' // ended early (requester, admin, CLI session end, or the reaper after missed heartbeats)
  | 'expired'
  | 'failed'; // issuing failed

/** Who made a request, as the broker verified it. */
export interface Principal {
  iss: string;
  sub: string;
  email?: string;
  groups: string[];
}

/** A grant as the API shows it (never with the password). */
export interface GrantView {
  id: string;
  status: GrantStatus;
  target: string;
  roles: string[];
  ttl_seconds: number;
  reason: string;
  session: string;
  requester: Principal;
  /** The policy rule that allowed the request. */
  rule: string;
  /** Who may approve it, when approval is needed. */
  approvers?: { groups: string[] };
  decided_by?: string;
  decision_reason?: string;
  /** The temporary role, once issued. */
  role?: string;
  /** ISO 8601, once issued. */
  expires_at?: string;
  created_at: string;
  /** Where the temporary role logs in (the broker's view of the target). */
  upstream: { host: string; port: number; database: string };
  /** How often the CLI must heartbeat an active grant (the reaper ends it after missed ones). */
  heartbeat_seconds?: number;
}

/** Returned once, to the requester, when the role is created. */
export interface GrantCredentials {
  role: string;
  password: string;
  expires_at: string;
}

/** POST /v1/grants */
export interface GrantRequest {
  target: string;
  /** Default and cap: the matching policy rule's max_ttl (and the target's). */
  ttl_seconds?: number;
  /** Default: every role the rule allows. */
  roles?: string[];
  reason: string;
  /** The CLI's session id (for the audit trail and the role's comment). */
  session: string;
}
/** 201 when issued at once (`credentials` set), 202 when pending. */
export interface GrantResponse {
  grant: GrantView;
  credentials?: GrantCredentials;
}

/** A held statement sent to the broker's queue by a broker-mode session. */
export interface HoldRequest {
  grant_id: string;
  sql: string;
  rule?: string;
  reason: string;
  fingerprint: string;
  connection: number;
  timeout_seconds: number;
}
/** Where a held statement is in its life. */
export type HoldStatus = 'pending' | 'approved' | 'denied' | 'expired';
/** A held statement as its session sees it (GET /v1/holds/:id). */
export interface HoldView {
  id: string;
  grant_id: string;
  status: HoldStatus;
  /** For approved: 'once' or 'fingerprint' (approve this statement shape for the session). */
  scope?: 'once' | 'fingerprint';
  decided_by?: string;
  decision_reason?: string;
  created_at: string;
  /** ISO 8601: denied as expired after this. */
  deadline: string;
}

/** An entry of an approver's queue: a grant request or a held statement. */
export interface ApprovalItem {
  /** `g_…` for grants, `h_…` for holds. */
  id: string;
  kind: 'grant' | 'statement';
  status: GrantStatus | HoldStatus;
  requester: Principal;
  target: string;
  reason: string;
  created_at: string;
  /** Grants: what is asked for. */
  roles?: string[];
  ttl_seconds?: number;
  /** Statements: the held SQL (as the agent sent it), its rule, fingerprint and grant. */
  sql?: string;
  rule?: string;
  fingerprint?: string;
  grant_id?: string;
}

/** POST /v1/approvals/:id */
export interface ApprovalDecision {
  decision: 'approve' | 'deny';
  reason?: string;
  /** Statements only: approve this fingerprint for the rest of the session. */
  scope?: 'once' | 'fingerprint';
}

/** POST /v1/audit: records exactly as the CLI's hash-chained JSONL has them. */
export interface AuditUpload {
  records: Record<string, unknown>[];
}
/** The answer to POST /v1/audit. */
export interface AuditUploadResult {
  accepted: number;
  /** Already stored (same hash): ignored, so a resend never duplicates. */
  duplicates: number;
}

/** The API paths. `:id` placeholders are filled by the caller. */
export const API = {
  health: '/healthz',
  ready: '/readyz',
  /** POST requests a grant; GET lists the caller's open grants (`?all=1`: everyone's, admins only). */
  grants: '/v1/grants',
  /** GET ?wait=SECONDS&since=STATUS long-polls until the status differs from `since`. DELETE revokes. */
  grant: (id: string) => `/v1/grants/${encodeURIComponent(id)}`,
  issue: (id: string) => `/v1/grants/${encodeURIComponent(id)}/issue`,
  heartbeat: (id: string) => `/v1/grants/${encodeURIComponent(id)}/heartbeat`,
  /** GET ?wait=SECONDS&since=ID,ID long-polls until the caller's queue differs from `since`. */
  approvals: '/v1/approvals',
  approval: (id: string) => `/v1/approvals/${encodeURIComponent(id)}`,
  holds: '/v1/holds',
  /** GET ?wait=SECONDS long-polls while pending. */
  hold: (id: string) => `/v1/holds/${encodeURIComponent(id)}`,
  /** POST uploads; GET ?sub=&email=&target=&decision=&since=&until=&limit= queries. */
  audit: '/v1/audit',
} as const;
