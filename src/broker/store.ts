import type pg from 'pg';
import type { ApprovalItem, GrantStatus, GrantView, HoldStatus, HoldView, Principal } from './api.js';
import type { BrokerTarget } from './config-types.js';

/** Anything that runs a query: the pool, or a client inside a transaction. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

/** Runs `fn` in a transaction on one pooled connection: COMMIT when it returns, ROLLBACK when it throws. */
export async function transaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** A row of jit_grants. */
export interface GrantRow {
  id: string;
  status: GrantStatus;
  target: string;
  roles: string[];
  ttl_seconds: number;
  reason: string;
  session: string;
  requester: Principal;
  requester_iss: string;
  requester_sub: string;
  rule: string;
  approval_required: boolean;
  approver_groups: string[];
  decided_by: string | null;
  decision_reason: string | null;
  decided_at: Date | null;
  role: string | null;
  expires_at: Date | null;
  issued_at: Date | null;
  heartbeat_at: Date | null;
  ended_at: Date | null;
  created_at: Date;
}

/** A row of jit_holds. */
export interface HoldRow {
  id: string;
  grant_id: string;
  status: HoldStatus;
  sql: string;
  rule: string | null;
  reason: string;
  fingerprint: string;
  connection: number;
  deadline: Date;
  scope: 'once' | 'fingerprint' | null;
  decided_by: string | null;
  decision_reason: string | null;
  created_at: Date;
}

/** The columns a new grant is inserted with. */
export type NewGrant = Pick<
  GrantRow,
  | 'id'
  | 'status'
  | 'target'
  | 'roles'
  | 'ttl_seconds'
  | 'reason'
  | 'session'
  | 'requester'
  | 'rule'
  | 'approval_required'
  | 'approver_groups'
> &
  Partial<Pick<GrantRow, 'role' | 'expires_at' | 'issued_at' | 'heartbeat_at'>>;

/** Columns a status change may set. */
export type GrantPatch = Partial<
  Pick<
    GrantRow,
    | 'status'
    | 'decided_by'
    | 'decision_reason'
    | 'decided_at'
    | 'role'
    | 'expires_at'
    | 'issued_at'
    | 'heartbeat_at'
    | 'ended_at'
  >
>;

/** Inserts a new grant row (pending, or active with its role). */
export async function insertGrant(q: Queryable, g: NewGrant): Promise<GrantRow> {
  const { rows } = await q.query<GrantRow>(
    `INSERT INTO jit_grants (id, status, target, roles, ttl_seconds, reason, session, requester,
                             requester_iss, requester_sub, rule, approval_required, approver_groups,
                             role, expires_at, issued_at, heartbeat_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
     RETURNING *`,
    [
      g.id,
      g.status,
      g.target,
      g.roles,
      g.ttl_seconds,
      g.reason,
      g.session,
      JSON.stringify(g.requester),
      g.requester.iss,
      g.requester.sub,
      g.rule,
      g.approval_required,
      g.approver_groups,
      g.role ?? null,
      g.expires_at ?? null,
      g.issued_at ?? null,
      g.heartbeat_at ?? null,
    ],
  );
  return rows[0] as GrantRow;
}

/** The grant, or undefined; `lock` takes a row lock for the rest of the caller's transaction. */
export async function findGrant(q: Queryable, id: string, lock = false): Promise<GrantRow | undefined> {
  const { rows } = await q.query<GrantRow>(
    `SELECT * FROM jit_grants WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0];
}

/** Sets the given columns of a grant (and `updated_at`); returns the row as it is now. */
export async function updateGrant(q: Queryable, id: string, patch: GrantPatch): Promise<GrantRow> {
  const keys = Object.keys(patch) as (keyof GrantPatch)[];
  const sets = keys.map((key, i) => `${key} = $${i + 2}`);
  const { rows } = await q.query<GrantRow>(
    `UPDATE jit_grants SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING *`,
    [id, ...keys.map((key) => patch[key] ?? null)],
  );
  return rows[0] as GrantRow;
}

/** How many grants of this requester are open: pending, approved (not yet issued) or active. */
export async function openGrantCount(q: Queryable, requester: { iss: string; sub: string }): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM jit_grants
      WHERE status IN ('pending', 'approved', 'active') AND requester_iss = $1 AND requester_sub = $2`,
    [requester.iss, requester.sub],
  );
  return rows[0]?.n ?? 0;
}

/**
 * How many grants one requester asked for in the last `windowMs` (by the state database's clock,
 * the same for every replica), and in how many milliseconds the oldest of them leaves the window.
 */
export async function recentGrantRequests(
  q: Queryable,
  requester: { iss: string; sub: string },
  windowMs: number,
): Promise<{ count: number; freeInMs: number }> {
  const { rows } = await q.query<{ n: number; free_ms: number | null }>(
    `SELECT count(*)::int AS n,
            ceil(extract(epoch FROM min(created_at) + $3 * interval '1 millisecond' - now()) * 1000)::int AS free_ms
       FROM jit_grants
      WHERE requester_iss = $1 AND requester_sub = $2
        AND created_at > now() - $3 * interval '1 millisecond'`,
    [requester.iss, requester.sub, windowMs],
  );
  return { count: rows[0]?.n ?? 0, freeInMs: Math.max(0, rows[0]?.free_ms ?? 0) };
}

/** Open grants (pending, approved or active), oldest first: one requester's, or everyone's. */
export async function openGrants(
  q: Queryable,
  requester?: { iss: string; sub: string },
): Promise<GrantRow[]> {
  const { rows } = await q.query<GrantRow>(
    `SELECT * FROM jit_grants
      WHERE status IN ('pending', 'approved', 'active')
        AND ($1::text IS NULL OR (requester_iss = $1 AND requester_sub = $2))
      ORDER BY created_at`,
    [requester?.iss ?? null, requester?.sub ?? null],
  );
  return rows;
}

/** Grants in one of `statuses`, oldest first. */
export async function grantsWithStatus(q: Queryable, statuses: GrantStatus[]): Promise<GrantRow[]> {
  const { rows } = await q.query<GrantRow>(
    'SELECT * FROM jit_grants WHERE status = ANY($1) ORDER BY created_at',
    [statuses],
  );
  return rows;
}

/** Inserts a pending held statement whose deadline is `timeoutSeconds` from the database's now. */
export async function insertHold(
  q: Queryable,
  h: Pick<HoldRow, 'id' | 'grant_id' | 'sql' | 'rule' | 'reason' | 'fingerprint' | 'connection'> & {
    timeoutSeconds: number;
  },
): Promise<HoldRow> {
  const { rows } = await q.query<HoldRow>(
    `INSERT INTO jit_holds (id, grant_id, status, sql, rule, reason, fingerprint, connection, deadline)
     VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, now() + make_interval(secs => $8::float8))
     RETURNING *`,
    [h.id, h.grant_id, h.sql, h.rule, h.reason, h.fingerprint, h.connection, h.timeoutSeconds],
  );
  return rows[0] as HoldRow;
}

/** The held statement, or undefined; `lock` takes a row lock for the rest of the caller's transaction. */
export async function findHold(q: Queryable, id: string, lock = false): Promise<HoldRow | undefined> {
  const { rows } = await q.query<HoldRow>(
    `SELECT * FROM jit_holds WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0];
}

/** Records a decision on a held statement (approved, denied, expired) with who and why. */
export async function decideHold(
  q: Queryable,
  id: string,
  patch: Pick<HoldRow, 'status'> & Partial<Pick<HoldRow, 'scope' | 'decided_by' | 'decision_reason'>>,
): Promise<HoldRow> {
  const { rows } = await q.query<HoldRow>(
    `UPDATE jit_holds SET status = $2, scope = $3, decided_by = $4, decision_reason = $5, decided_at = now()
      WHERE id = $1 RETURNING *`,
    [id, patch.status, patch.scope ?? null, patch.decided_by ?? null, patch.decision_reason ?? null],
  );
  return rows[0] as HoldRow;
}

/** Pending holds past their deadline become `expired`; returns their ids and grants. */
export async function expireHolds(q: Queryable): Promise<{ id: string; grant_id: string }[]> {
  const { rows } = await q.query<{ id: string; grant_id: string }>(
    `UPDATE jit_holds SET status = 'expired', decided_at = now(), decided_by = 'timeout'
      WHERE status = 'pending' AND deadline < now() RETURNING id, grant_id`,
  );
  return rows;
}

/** Pending grants and pending holds (with their grant), oldest first: the approval queue before filtering. */
export async function pendingItems(
  q: Queryable,
): Promise<{ grants: GrantRow[]; holds: (HoldRow & { grant: GrantRow })[] }> {
  const grants = await grantsWithStatus(q, ['pending']);
  const { rows } = await q.query<HoldRow & { grant: GrantRow }>(
    `SELECT h.*, to_jsonb(g) AS "grant" FROM jit_holds h JOIN jit_grants g ON g.id = h.grant_id
      WHERE h.status = 'pending' AND h.deadline >= now() ORDER BY h.created_at`,
  );
  return { grants, holds: rows };
}

/** The grant as the API shows it (never a password). */
export function grantView(row: GrantRow, target: BrokerTarget | undefined): GrantView {
  return {
    id: row.id,
    status: row.status,
    target: row.target,
    roles: row.roles,
    ttl_seconds: row.ttl_seconds,
    reason: row.reason,
    session: row.session,
    requester: row.requester,
    rule: row.rule,
    ...(row.approval_required && { approvers: { groups: row.approver_groups } }),
    ...(row.decided_by !== null && { decided_by: row.decided_by }),
    ...(row.decision_reason !== null && { decision_reason: row.decision_reason }),
    ...(row.role !== null && { role: row.role }),
    ...(row.expires_at !== null && { expires_at: iso(row.expires_at) }),
    created_at: iso(row.created_at),
    upstream: target
      ? { host: target.upstream.host, port: target.upstream.port, database: target.upstream.database }
      : { host: '', port: 0, database: '' },
  };
}

/** The held statement as the API shows it to the waiting CLI. */
export function holdView(row: HoldRow): HoldView {
  return {
    id: row.id,
    grant_id: row.grant_id,
    status: row.status,
    ...(row.scope !== null && { scope: row.scope }),
    ...(row.decided_by !== null && { decided_by: row.decided_by }),
    ...(row.decision_reason !== null && { decision_reason: row.decision_reason }),
    created_at: iso(row.created_at),
    deadline: iso(row.deadline),
  };
}

/** A pending grant as an entry of an approver's queue. */
export function grantItem(row: GrantRow): ApprovalItem {
  return {
    id: row.id,
    kind: 'grant',
    status: row.status,
    requester: row.requester,
    target: row.target,
    reason: row.reason,
    created_at: iso(row.created_at),
    roles: row.roles,
    ttl_seconds: row.ttl_seconds,
  };
}

/** A held statement (with its grant) as an entry of an approver's queue. */
export function holdItem(row: HoldRow, grant: GrantRow): ApprovalItem {
  return {
    id: row.id,
    kind: 'statement',
    status: row.status,
    requester: grant.requester,
    target: grant.target,
    reason: row.reason,
    created_at: iso(row.created_at),
    sql: row.sql,
    ...(row.rule !== null && { rule: row.rule }),
    fingerprint: row.fingerprint,
    grant_id: row.grant_id,
  };
}

/** `to_jsonb` renders timestamps as strings: accept both. */
function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
