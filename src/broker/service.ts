import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { DirectGrantIssuer } from '../grant/direct.js';
import { GrantError } from '../grant/types.js';
import { formatDuration } from '../util/duration.js';
import type {
  ApprovalDecision,
  ApprovalItem,
  AuditUploadResult,
  GrantResponse,
  GrantView,
  HoldView,
  Principal,
} from './api.js';
import { ingestAudit, parseAuditQuery, queryAudit } from './audit-ingest.js';
import type { BrokerConfig, BrokerTarget } from './config-types.js';
import { ApiError } from './errors.js';
import { type Caller, decideGrant, isAdmin, mayApprove } from './grant-policy.js';
import type { Logger } from './log.js';
import { type Notifier, notify } from './notifier.js';
import {
  decideHold,
  findGrant,
  findHold,
  type GrantRow,
  grantItem,
  grantView,
  holdItem,
  holdView,
  insertGrant,
  insertHold,
  openGrantCount,
  openGrants,
  recentGrantRequests,
  pendingItems,
  transaction,
  updateGrant,
} from './store.js';

/** The longest long-poll a caller may ask for. */
export const MAX_WAIT_SECONDS = 30;
const MAX_REASON = 500;
const MAX_SQL = 100_000;
/** The class key of the state database's advisory lock on a caller's grant requests ("jit" + 1). */
const REQUEST_LOCK = 0x6a697401;

/** Creates and ends temporary roles in one target (direct-mode issuer with the broker's admin DSN). */
export type TargetIssuer = Pick<DirectGrantIssuer, 'issue' | 'revoke'>;

/** What the service needs from the outside world. */
export interface ServiceDeps {
  config: BrokerConfig;
  pool: pg.Pool;
  notifier: Notifier;
  log: Logger;
  issuerFor: (target: BrokerTarget) => TargetIssuer;
}

/** The issuer of a target from its admin DSN in the broker's environment. */
export function targetIssuers(env: NodeJS.ProcessEnv): (target: BrokerTarget) => TargetIssuer {
  const cache = new Map<string, TargetIssuer>();
  return (target) => {
    let issuer = cache.get(target.name);
    if (!issuer) {
      issuer = new DirectGrantIssuer({ adminUrl: env[target.adminUrlEnv] ?? '', tls: target.tls });
      cache.set(target.name, issuer);
    }
    return issuer;
  };
}

const trimSlash = (s: string) => s.replace(/\/+$/, '');
const samePerson = (a: { iss: string; sub: string }, b: { iss: string; sub: string }) =>
  a.sub === b.sub && trimSlash(a.iss) === trimSlash(b.iss);
const who = (caller: Caller) => caller.email ?? caller.sub;

/**
 * The broker's API logic (HTTP-free): grant requests decided by the grant rules, approvals by
 * other people, issuing with the admin credential only the broker holds, revocation, held
 * statements, and audit ingestion. All state is in the state database, so any replica can answer
 * any call; long-polls wake through LISTEN/NOTIFY.
 */
export class BrokerService {
  /** Per caller, this replica's grant requests in flight: they run one at a time (see oneAtATime). */
  private readonly callerQueues = new Map<string, { tail: Promise<void>; waiting: number }>();

  constructor(private readonly deps: ServiceDeps) {}

  /** POST /v1/grants: issued at once (201) or pending approval (202). */
  async requestGrant(caller: Caller, raw: unknown): Promise<{ status: 201 | 202; body: GrantResponse }> {
    return this.oneAtATime(caller, () => this.admitGrantRequest(caller, raw));
  }

  /**
   * Runs one caller's grant requests on this replica one after another, so that a burst of
   * parallel requests waits here rather than each holding a connection of the pool (the state
   * database's lock in admitGrantRequest orders them across replicas). More requests waiting
   * than the caller may have open grants could not all succeed anyway: those get 429 at once.
   */
  private async oneAtATime<T>(caller: Caller, run: () => Promise<T>): Promise<T> {
    const key = `${trimSlash(caller.iss)}\u0000${caller.sub}`;
    let queue = this.callerQueues.get(key);
    if (!queue) {
      queue = { tail: Promise.resolve(), waiting: 0 };
      this.callerQueues.set(key, queue);
    }
    const limit = this.deps.config.limits.openGrants;
    if (queue.waiting >= limit) {
      throw new ApiError(
        429,
        'too_many_requests',
        `${who(caller)} already has ${limit} grant request(s) waiting to be answered by this broker; wait for them first`,
      );
    }
    queue.waiting++;
    const previous = queue.tail;
    let done = () => {};
    const mine = new Promise<void>((resolve) => (done = resolve));
    queue.tail = mine;
    try {
      await previous;
      return await run();
    } finally {
      queue.waiting--;
      done();
      if (queue.waiting === 0) this.callerQueues.delete(key);
    }
  }

  private async admitGrantRequest(
    caller: Caller,
    raw: unknown,
  ): Promise<{ status: 201 | 202; body: GrantResponse }> {
    const body = object(raw);
    const target = requiredString(body, 'target', 200);
    const reason = requiredString(body, 'reason', MAX_REASON);
    const session = requiredString(body, 'session', 100);
    const roles = optionalStrings(body, 'roles');
    const ttlSeconds = optionalNumber(body, 'ttl_seconds');
    const decision = decideGrant(this.deps.config, caller, {
      target,
      ...(roles !== undefined && { roles }),
      ...(ttlSeconds !== undefined && { ttlSeconds }),
    });
    if (!decision.ok) throw new ApiError(decision.status, decision.error, decision.message);
    const base = {
      id: newId('g'),
      target,
      roles: decision.roles,
      ttl_seconds: Math.round(decision.ttlMs / 1000),
      reason,
      session,
      requester: principal(caller),
      rule: decision.rule.name,
      approval_required: decision.approval.required,
      approver_groups: decision.approval.groups,
    };
    const fields = { grant: base.id, caller: who(caller), target, roles: base.roles, rule: base.rule };
    // The per-caller limits are checked and the grant written under a lock on the caller in the
    // state database, so requests to different replicas cannot pass them together either. (A
    // caller's requests reach this point one at a time per replica, see oneAtATime: each holds
    // at most one connection of this replica's pool while it waits for the lock.)
    const { row, issued } = await this.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
        REQUEST_LOCK,
        `${trimSlash(caller.iss)} ${caller.sub}`,
      ]);
      await this.checkRequestLimits(c, caller);
      if (decision.approval.required) {
        const inserted = await insertGrant(c, { ...base, status: 'pending' });
        await notify(c, 'queue');
        return { row: inserted, issued: undefined };
      }
      const role = await this.issueRole(decision.target, base.id, caller, base);
      try {
        const inserted = await insertGrant(c, {
          ...base,
          status: 'active',
          role: role.role,
          expires_at: role.expiresAt,
          issued_at: new Date(),
          heartbeat_at: new Date(),
        });
        return { row: inserted, issued: role };
      } catch (error) {
        await this.deps
          .issuerFor(decision.target)
          .revoke({ role: role.role })
          .catch(() => {});
        throw error;
      }
    });
    if (!issued) {
      this.deps.log('info', 'grant requested; waiting for approval', fields);
      return { status: 202, body: { grant: this.view(row) } };
    }
    this.deps.log('info', 'grant issued', { ...fields, role: issued.role, expires_at: issued.expiresAt });
    return {
      status: 201,
      body: {
        grant: this.view(row),
        credentials: {
          role: issued.role,
          password: issued.password,
          expires_at: issued.expiresAt.toISOString(),
        },
      },
    };
  }

  /**
   * Caps per caller, so that one token (a runaway agent, a leaked CI token) cannot fill the
   * server with roles or the approvers' queue with requests.
   */
  private async checkRequestLimits(c: pg.PoolClient, caller: Caller): Promise<void> {
    const rate = this.deps.config.limits.grantRequests;
    const recent = await recentGrantRequests(c, caller, rate.perMs);
    if (recent.count >= rate.max) {
      throw new ApiError(
        429,
        'rate_limited',
        `${who(caller)} made ${rate.max} grant request(s) in the last ${formatDuration(rate.perMs)}, the broker's limit (limits.grant_requests); try again in ${formatDuration(Math.max(1000, recent.freeInMs))}`,
      );
    }
    const limit = this.deps.config.limits.openGrants;
    if ((await openGrantCount(c, caller)) >= limit) {
      throw new ApiError(
        429,
        'too_many_grants',
        `${who(caller)} already has ${limit} open grant(s) (pending, approved or active), the broker's limit (limits.open_grants); end a session or cancel a request first`,
      );
    }
  }

  /** GET /v1/grants: the caller's open grants; `?all=1` everyone's (admins only). */
  async listGrants(caller: Caller, params: URLSearchParams): Promise<{ grants: GrantView[] }> {
    const all = params.get('all');
    if (all !== null && all !== '0' && all !== '1') {
      throw new ApiError(400, 'bad_request', '`all` must be 0 or 1');
    }
    if (all === '1' && !isAdmin(this.deps.config, caller)) {
      throw new ApiError(403, 'not_allowed', "only the broker's admins may list everyone's grants");
    }
    const rows = await openGrants(this.deps.pool, all === '1' ? undefined : caller);
    return { grants: rows.map((row) => this.view(row)) };
  }

  /** GET /v1/grants/:id, optionally long-polling while its status is still `since`. */
  async getGrant(caller: Caller, id: string, params: URLSearchParams): Promise<{ grant: GrantView }> {
    const since = params.get('since');
    const wait = waitSeconds(params);
    const first = await this.visibleGrant(caller, id);
    let row = first;
    if (since !== null && wait > 0 && first.status === since) {
      row = await this.longPoll(
        `grant:${id}`,
        wait,
        async () => (await findGrant(this.deps.pool, id)) ?? first,
        (r) => r.status !== since,
      );
    }
    return { grant: this.view(row) };
  }

  /** POST /v1/grants/:id/issue: the requester turns an approved request into a role (once). */
  async issueGrant(caller: Caller, id: string): Promise<GrantResponse> {
    const client = await this.deps.pool.connect();
    try {
      await client.query('BEGIN');
      const row = await findGrant(client, id, true);
      if (!row) throw notFound(id);
      if (!samePerson(row.requester, caller)) {
        throw new ApiError(403, 'not_requester', 'only the person who requested a grant can issue it');
      }
      if (row.status !== 'approved') {
        throw new ApiError(409, 'not_approved', `grant ${id} is ${row.status}, not approved`);
      }
      const target = this.target(row.target);
      const issued = await this.issueRole(target, id, caller, row).catch(async (error: unknown) => {
        await updateGrant(client, id, {
          status: 'failed',
          decision_reason: errorText(error),
          ended_at: new Date(),
        });
        await notify(client, `grant:${id}`);
        await client.query('COMMIT');
        throw error;
      });
      let updated: GrantRow;
      try {
        updated = await updateGrant(client, id, {
          status: 'active',
          role: issued.role,
          expires_at: issued.expiresAt,
          issued_at: new Date(),
          heartbeat_at: new Date(),
        });
        await notify(client, `grant:${id}`);
        await client.query('COMMIT');
      } catch (error) {
        await this.deps
          .issuerFor(target)
          .revoke({ role: issued.role })
          .catch(() => {});
        throw error;
      }
      this.deps.log('info', 'grant issued', { grant: id, caller: who(caller), role: issued.role });
      return {
        grant: this.view(updated),
        credentials: {
          role: issued.role,
          password: issued.password,
          expires_at: issued.expiresAt.toISOString(),
        },
      };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /** POST /v1/grants/:id/heartbeat: the CLI is alive (the reaper ends grants whose heartbeats stop). */
  async heartbeat(caller: Caller, id: string): Promise<{ grant: GrantView }> {
    const row = await findGrant(this.deps.pool, id);
    if (!row) throw notFound(id);
    if (!samePerson(row.requester, caller)) throw new ApiError(403, 'not_requester', 'not your grant');
    if (row.status !== 'active') return { grant: this.view(row) };
    return { grant: this.view(await updateGrant(this.deps.pool, id, { heartbeat_at: new Date() })) };
  }

  /** DELETE /v1/grants/:id: the requester or an admin ends a grant (or cancels a request). */
  async revokeGrant(caller: Caller, id: string, raw: unknown): Promise<{ grant: GrantView }> {
    const reason = optionalString(raw === undefined ? {} : object(raw), 'reason', MAX_REASON) ?? 'revoked';
    const row = await this.transaction(async (c) => {
      const found = await findGrant(c, id, true);
      if (!found) throw notFound(id);
      if (!samePerson(found.requester, caller) && !isAdmin(this.deps.config, caller)) {
        throw new ApiError(403, 'not_allowed', 'only the requester or a broker admin can revoke a grant');
      }
      if (!['pending', 'approved', 'active'].includes(found.status)) {
        throw new ApiError(409, 'not_active', `grant ${id} is already ${found.status}`);
      }
      if (found.status === 'active' && found.role) {
        await this.deps.issuerFor(this.target(found.target)).revoke({ role: found.role });
      }
      const updated = await updateGrant(c, id, {
        status: 'revoked',
        decided_by: who(caller),
        decision_reason: reason,
        ended_at: new Date(),
      });
      await notify(c, `grant:${id}`, 'queue');
      return updated;
    });
    this.deps.log('info', 'grant revoked', { grant: id, caller: who(caller), reason, role: row.role });
    return { grant: this.view(row) };
  }

  /**
   * GET /v1/approvals[?wait=N[&since=id,id…]]: what the caller may decide now (never their own
   * requests). With `wait`, answers when the queue differs from `since` (the ids the caller last
   * saw; default: the queue at the time of the request), or when the wait ends.
   */
  async approvals(caller: Caller, params: URLSearchParams): Promise<{ items: ApprovalItem[] }> {
    const wait = waitSeconds(params);
    const first = await this.queue(caller);
    if (wait === 0) return { items: first };
    const key = (ids: string[]) => [...ids].sort().join(',');
    const since = params.get('since');
    const before =
      since === null ? key(first.map((i) => i.id)) : key(since.split(',').filter((id) => id !== ''));
    if (key(first.map((i) => i.id)) !== before) return { items: first };
    const items = await this.longPoll(
      'queue',
      wait,
      () => this.queue(caller),
      (now) => key(now.map((i) => i.id)) !== before,
    );
    return { items };
  }

  /** POST /v1/approvals/:id: approve or deny a pending grant or held statement. */
  async decide(caller: Caller, id: string, raw: unknown): Promise<{ item: ApprovalItem }> {
    const body = object(raw);
    const decision = requiredString(body, 'decision', 10) as ApprovalDecision['decision'];
    if (decision !== 'approve' && decision !== 'deny') {
      throw new ApiError(400, 'bad_request', '`decision` must be "approve" or "deny"');
    }
    const reason = optionalString(body, 'reason', MAX_REASON);
    const scope = optionalString(body, 'scope', 20);
    if (scope !== undefined && scope !== 'once' && scope !== 'fingerprint') {
      throw new ApiError(400, 'bad_request', '`scope` must be "once" or "fingerprint"');
    }
    const item = await this.transaction(async (c) => {
      if (id.startsWith('h_')) {
        const hold = await findHold(c, id, true);
        if (!hold) throw notFound(id);
        const grant = (await findGrant(c, hold.grant_id)) as GrantRow;
        this.assertApprover(grant, caller);
        if (hold.status !== 'pending' || hold.deadline.getTime() < Date.now()) {
          throw new ApiError(409, 'not_pending', `held statement ${id} is no longer pending`);
        }
        const decided = await decideHold(c, id, {
          status: decision === 'approve' ? 'approved' : 'denied',
          ...(decision === 'approve' && { scope: scope === 'fingerprint' ? 'fingerprint' : 'once' }),
          decided_by: who(caller),
          ...(reason !== undefined && { decision_reason: reason }),
        });
        await notify(c, `hold:${id}`, 'queue');
        return holdItem(decided, grant);
      }
      const grant = await findGrant(c, id, true);
      if (!grant) throw notFound(id);
      this.assertApprover(grant, caller);
      if (grant.status !== 'pending')
        throw new ApiError(409, 'not_pending', `grant ${id} is ${grant.status}`);
      const decided = await updateGrant(c, id, {
        status: decision === 'approve' ? 'approved' : 'denied',
        decided_by: who(caller),
        decided_at: new Date(),
        ...(reason !== undefined && { decision_reason: reason }),
        ...(decision === 'deny' && { ended_at: new Date() }),
      });
      await notify(c, `grant:${id}`, 'queue');
      return grantItem(decided);
    });
    this.deps.log('info', `${item.kind} ${decision === 'approve' ? 'approved' : 'denied'}`, {
      id,
      caller: who(caller),
      requester: item.requester.email ?? item.requester.sub,
      ...(reason !== undefined && { reason }),
    });
    return { item };
  }

  /** POST /v1/holds: a broker-mode session's held statement joins the approval queue. */
  async createHold(caller: Caller, raw: unknown): Promise<{ hold: HoldView }> {
    const body = object(raw);
    const grantId = requiredString(body, 'grant_id', 100);
    const sql = requiredString(body, 'sql', MAX_SQL);
    const rule = optionalString(body, 'rule', 200);
    const reason = requiredString(body, 'reason', MAX_REASON);
    const fingerprint = requiredString(body, 'fingerprint', 200);
    const connection = optionalNumber(body, 'connection') ?? 0;
    const timeout = optionalNumber(body, 'timeout_seconds') ?? 120;
    if (timeout < 1 || timeout > 3600)
      throw new ApiError(400, 'bad_request', '`timeout_seconds` must be 1..3600');
    const hold = await this.transaction(async (c) => {
      const grant = await findGrant(c, grantId);
      if (!grant) throw notFound(grantId);
      if (!samePerson(grant.requester, caller)) throw new ApiError(403, 'not_requester', 'not your grant');
      if (grant.status !== 'active')
        throw new ApiError(409, 'not_active', `grant ${grantId} is ${grant.status}`);
      const row = await insertHold(c, {
        id: newId('h'),
        grant_id: grantId,
        sql,
        rule: rule ?? null,
        reason,
        fingerprint,
        connection: Math.trunc(connection),
        timeoutSeconds: timeout,
      });
      await notify(c, 'queue');
      return row;
    });
    this.deps.log('info', 'statement held for approval', {
      hold: hold.id,
      grant: grantId,
      rule,
      caller: who(caller),
    });
    return { hold: holdView(hold) };
  }

  /** GET /v1/holds/:id[?wait=N]: long-polls while pending (never past its deadline). */
  async getHold(caller: Caller, id: string, params: URLSearchParams): Promise<{ hold: HoldView }> {
    const read = async () => {
      const hold = await findHold(this.deps.pool, id);
      if (!hold) throw notFound(id);
      if (hold.status === 'pending' && hold.deadline.getTime() < Date.now()) {
        const { rows } = await this.deps.pool.query<{ id: string }>(
          `UPDATE jit_holds SET status = 'expired', decided_by = 'timeout', decided_at = now()
            WHERE id = $1 AND status = 'pending' RETURNING id`,
          [id],
        );
        if (rows.length > 0) await this.deps.pool.query("SELECT pg_notify('jit_broker', 'queue')");
        return (await findHold(this.deps.pool, id)) ?? hold;
      }
      return hold;
    };
    const first = await read();
    const grant = (await findGrant(this.deps.pool, first.grant_id)) as GrantRow;
    if (!samePerson(grant.requester, caller) && !this.mayApprove(grant, caller)) {
      throw new ApiError(403, 'not_allowed', 'not your held statement');
    }
    const untilDeadline = Math.max(0, Math.ceil((first.deadline.getTime() - Date.now()) / 1000));
    const wait = Math.min(waitSeconds(params), untilDeadline + 1);
    const hold =
      first.status === 'pending' && wait > 0
        ? await this.longPoll(`hold:${id}`, wait, read, (h) => h.status !== 'pending')
        : first;
    return { hold: holdView(hold) };
  }

  /** POST /v1/audit: all of an upload is stored, or none of it. */
  async uploadAudit(caller: Caller, raw: unknown): Promise<AuditUploadResult> {
    const result = await this.transaction((c) => ingestAudit(c, caller, raw));
    if (result.accepted > 0)
      this.deps.log('info', 'audit records stored', { caller: who(caller), ...result });
    return result;
  }

  /** GET /v1/audit: admins see every record, everyone else their own. */
  async queryAudit(caller: Caller, params: URLSearchParams): Promise<{ records: Record<string, unknown>[] }> {
    const query = parseAuditQuery(params);
    if (!isAdmin(this.deps.config, caller)) {
      if (query.sub !== undefined && query.sub !== caller.sub) {
        throw new ApiError(403, 'not_allowed', 'only broker admins can query other people’s records');
      }
      if (query.email !== undefined && query.email.toLowerCase() !== (caller.email ?? '').toLowerCase()) {
        throw new ApiError(403, 'not_allowed', 'only broker admins can query other people’s records');
      }
      query.sub = caller.sub;
      query.iss = caller.iss;
    }
    return { records: await queryAudit(this.deps.pool, query) };
  }

  private async issueRole(
    target: BrokerTarget,
    grantId: string,
    caller: Caller,
    grant: { roles: string[]; ttl_seconds: number; session: string },
  ) {
    try {
      return await this.deps.issuerFor(target).issue({
        target: target.name,
        database: target.upstream.database,
        identity: {
          sub: caller.sub,
          ...(caller.email !== undefined && { email: caller.email }),
          name: caller.name,
          authenticated: true,
          issuer: caller.iss,
        },
        session: `${grant.session} broker-grant=${grantId}`,
        ttlMs: grant.ttl_seconds * 1000,
        roles: grant.roles,
        connectionLimit: target.connectionLimit,
      });
    } catch (error) {
      this.deps.log('error', 'issuing a grant failed', {
        grant: grantId,
        target: target.name,
        error: errorText(error),
      });
      throw new ApiError(
        502,
        'issue_failed',
        `the broker could not create the role in target "${target.name}": ${errorText(error)}`,
      );
    }
  }

  private async queue(caller: Caller): Promise<ApprovalItem[]> {
    const { grants, holds } = await pendingItems(this.deps.pool);
    return [
      ...grants.filter((g) => this.mayApprove(g, caller)).map(grantItem),
      ...holds.filter((h) => this.mayApprove(h.grant, caller)).map((h) => holdItem(h, h.grant)),
    ];
  }

  private mayApprove(grant: GrantRow, caller: Caller): boolean {
    return mayApprove(this.deps.config, grant.approver_groups, caller, grant.requester).ok;
  }

  private assertApprover(grant: GrantRow, caller: Caller): void {
    const verdict = mayApprove(this.deps.config, grant.approver_groups, caller, grant.requester);
    if (!verdict.ok) throw new ApiError(403, verdict.error, verdict.message);
  }

  private async visibleGrant(caller: Caller, id: string): Promise<GrantRow> {
    const row = await findGrant(this.deps.pool, id);
    if (!row) throw notFound(id);
    if (
      !samePerson(row.requester, caller) &&
      !isAdmin(this.deps.config, caller) &&
      !this.mayApprove(row, caller)
    ) {
      throw new ApiError(403, 'not_allowed', 'not your grant');
    }
    return row;
  }

  private target(name: string): BrokerTarget {
    const target = this.deps.config.targets[name];
    if (!target)
      throw new ApiError(409, 'unknown_target', `target "${name}" is no longer configured on this broker`);
    return target;
  }

  private view(row: GrantRow): GrantView {
    const heartbeat = Math.max(1, Math.floor(this.deps.config.reaper.heartbeatTimeoutMs / 3000));
    return { ...grantView(row, this.deps.config.targets[row.target]), heartbeat_seconds: heartbeat };
  }

  /**
   * Reads until `done` or `seconds` pass, waking on NOTIFY `key` from any replica. The wait is
   * registered before each read, so a change between the read and the wait is never missed.
   */
  private async longPoll<T>(
    key: string,
    seconds: number,
    read: () => Promise<T>,
    done: (value: T) => boolean,
  ): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      const wait = this.deps.notifier.next(key);
      const value = await read().catch((error: unknown) => {
        wait.cancel();
        throw error;
      });
      const left = deadline - Date.now();
      if (done(value) || left <= 0 || this.deps.notifier.isClosed) {
        wait.cancel();
        return value;
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([wait.woken, new Promise((resolve) => (timer = setTimeout(resolve, left)))]);
      clearTimeout(timer);
      wait.cancel();
    }
  }

  private transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return transaction(this.deps.pool, fn);
  }
}

function principal(caller: Caller): Principal {
  return {
    iss: caller.iss,
    sub: caller.sub,
    ...(caller.email !== undefined && { email: caller.email }),
    groups: caller.groups,
  };
}

function newId(prefix: 'g' | 'h'): string {
  return `${prefix}_${randomBytes(9).toString('base64url')}`;
}

function notFound(id: string): ApiError {
  return new ApiError(404, 'not_found', `no grant or held statement ${JSON.stringify(id)}`);
}

function errorText(error: unknown): string {
  if (error instanceof ApiError || error instanceof GrantError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

function waitSeconds(params: URLSearchParams): number {
  const text = params.get('wait');
  if (text === null || text === '') return 0;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0)
    throw new ApiError(400, 'bad_request', '`wait` must be a number of seconds');
  return Math.min(n, MAX_WAIT_SECONDS);
}

function object(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ApiError(400, 'bad_request', 'the request body must be a JSON object');
  }
  return raw as Record<string, unknown>;
}

function requiredString(body: Record<string, unknown>, key: string, max: number): string {
  const value = optionalString(body, key, max);
  if (value === undefined || value.trim() === '')
    throw new ApiError(400, 'bad_request', `\`${key}\` is required`);
  return value;
}

function optionalString(body: Record<string, unknown>, key: string, max: number): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ApiError(400, 'bad_request', `\`${key}\` must be a string`);
  if (value.length > max)
    throw new ApiError(400, 'bad_request', `\`${key}\` is longer than ${max} characters`);
  return value;
}

function optionalNumber(body: Record<string, unknown>, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ApiError(400, 'bad_request', `\`${key}\` must be a number`);
  }
  return value;
}

function optionalStrings(body: Record<string, unknown>, key: string): string[] | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '' || v.length > 63)) {
    throw new ApiError(400, 'bad_request', `\`${key}\` must be a list of role names`);
  }
  return value as string[];
}
