import type { AuditEvent } from '../../audit/record.js';
import type { DecisionCache } from '../../policy/decision-cache.js';
import type { Policy } from '../../policy/policy.js';
import { errorResponse } from '../backend/writer.js';
import { parseErrorFields } from '../backend/reader.js';
import { Verdict } from '../framer.js';
import {
  commandRows,
  parseBind,
  parseExecute,
  parseParse,
  parseQuery,
  parseTarget,
} from '../frontend/extended.js';
import { parse as parseMessage, query as queryMessage } from '../frontend/writer.js';
import type { Approver, ApprovalResult } from './approver.js';

/** Where statement records go: the session's audit log (or a test double). */
export interface AuditSink {
  append(event: AuditEvent): unknown;
  /** Resolves when everything appended so far is durable. */
  flushed(): Promise<void>;
}

/** Session-wide state shared by every connection's guard. */
export interface GuardContext {
  session: string;
  grant: string;
  target: string;
  identity: AuditEvent['identity'];
  policy: Policy;
  cache: DecisionCache;
  audit: AuditSink;
  approver: Approver;
  /** Fingerprints a human approved for the rest of the session. */
  approvedFingerprints: Set<string>;
  /**
   * A token that is a syntax error for PostgreSQL and unguessable by the agent. A blocked
   * statement is replaced upstream by it, so the server raises an error at exactly that point
   * of the stream (skipping to Sync, aborting the transaction, as it would for any error); the
   * guard then swaps that error for its own 42501.
   */
  sentinel: string;
  /** Monotonic milliseconds, injectable for tests. */
  now: () => number;
  /**
   * When masking is on: why a statement must not run because it copies masked data into an
   * unmasked column (null: it may), possibly after a catalog lookup.
   */
  writeCheck?: (sql: string) => string | null | Promise<string | null>;
}

/** How the guard reaches the connection's sockets and framers. */
export interface GuardControl {
  writeUpstream(bytes: Buffer): void;
  writeClient(bytes: Buffer): void;
  /** Continue the client stream after a held statement was decided (re-delivers it). */
  resumeClient(): void;
  /** Continue the upstream stream after an audit flush (re-delivers the paused message). */
  resumeUpstream(): void;
  /** Masked columns and value counts since the last call (the result masker's, when masking is on). */
  takeMasked?(): Map<string, number> | undefined;
}

/** What a statement's audit record says about its decision. */
interface DecisionFacts {
  decision: 'allowed' | 'approved' | 'blocked' | 'denied';
  rule: string | undefined;
  reason: string | undefined;
  approver: string | undefined;
  /** The masking write check has passed (or decided) this statement already. */
  writeChecked?: boolean;
}

/**
 * A statement the proxy forwarded (or replaced), awaiting its outcome from upstream. A class
 * with every field set in the constructor, so V8 keeps one shape for all of them (this is the
 * proxy's hot path: object spreads here cost measurable throughput).
 */
class Unit {
  rows = 0;
  hasRows = false;
  sqlstate: string | undefined = undefined;
  /** For blocked units: the ErrorResponse the client gets instead of the sentinel's. */
  replacement: Buffer | undefined = undefined;
  readonly decision: DecisionFacts['decision'];
  readonly rule: string | undefined;
  readonly reason: string | undefined;
  readonly approver: string | undefined;

  constructor(
    readonly kind: 'query' | 'execute' | 'blocked',
    /** Index of the Sync/Query after which the server answers with ReadyForQuery for it. */
    readonly segment: number,
    readonly sql: string,
    readonly fingerprint: string,
    readonly startedAt: number,
    facts: DecisionFacts,
  ) {
    this.decision = facts.decision;
    this.rule = facts.rule;
    this.reason = facts.reason;
    this.approver = facts.approver;
  }

  addRows(rows: number | undefined): void {
    if (rows === undefined) return;
    this.rows += rows;
    this.hasRows = true;
  }
}

const UNPREPARED: DecisionFacts = {
  decision: 'allowed',
  rule: undefined,
  reason: 'portal not prepared through this connection',
  approver: undefined,
};

/** What we know about a prepared statement or portal. */
interface Prepared {
  sql: string;
  fingerprint: string;
  facts: DecisionFacts;
}

const Q = 0x51;
const P = 0x50;
const B = 0x42;
const E = 0x45;
const C = 0x43;
const S = 0x53;
const F = 0x46;
const Z = 0x5a;
const COMMAND_COMPLETE = 0x43;
const PORTAL_SUSPENDED = 0x73;
const EMPTY_QUERY = 0x49;
const ERROR = 0x45;

/** Upstream message types the guard needs to see whole. */
export function guardWantsUpstream(type: number): boolean {
  return (
    type === COMMAND_COMPLETE ||
    type === ERROR ||
    type === Z ||
    type === PORTAL_SUSPENDED ||
    type === EMPTY_QUERY
  );
}

/**
 * Decides every statement of one connection before anything reaches the upstream, and records
 * each with its outcome. Blocked and denied statements never run: the client gets an
 * ErrorResponse 42501 naming the rule, at the position in the stream where PostgreSQL would
 * have answered, and the connection stays usable. A held statement pauses only its connection.
 */
export class StatementGuard {
  private readonly units: Unit[] = [];
  private readonly statements = new Map<string, Prepared>();
  private readonly portals = new Map<string, Prepared>();
  private segmentsSent = 0;
  private segmentsDone = 0;
  /** The decision for a held message, used when the framer re-delivers it. */
  private resolvedHold: DecisionFacts | undefined;
  private holdAbort: AbortController | undefined;
  /** In sync durability: what to do with an upstream message once its records are on disk. */
  private release: { replacement: Buffer | undefined } | undefined;
  private readonly sentinelBytes: Buffer;
  private closed = false;

  constructor(
    private readonly connection: number,
    private readonly ctx: GuardContext,
    private readonly ctl: GuardControl,
  ) {
    this.sentinelBytes = Buffer.from(ctx.sentinel, 'utf8');
  }

  /** Decides one client message of the relay phase. */
  onClientMessage(type: number, message: Buffer): Verdict {
    switch (type) {
      case Q:
        return this.onStatement('query', parseQuery(message));
      case P: {
        const { name, sql } = parseParse(message);
        return this.onStatement('parse', sql, name);
      }
      case B: {
        const { portal, statement } = parseBind(message);
        const prepared = this.statements.get(statement);
        if (prepared) this.portals.set(portal, prepared);
        else this.portals.delete(portal);
        return Verdict.Forward;
      }
      case E: {
        const { portal } = parseExecute(message);
        const prepared = this.portals.get(portal);
        this.units.push(
          new Unit(
            'execute',
            this.segmentsSent,
            prepared?.sql ?? '',
            prepared?.fingerprint ?? '',
            this.ctx.now(),
            prepared?.facts ?? UNPREPARED,
          ),
        );
        return Verdict.Forward;
      }
      case C: {
        const { kind, name } = parseTarget(message);
        (kind === 'S' ? this.statements : this.portals).delete(name);
        return Verdict.Forward;
      }
      case S:
        this.segmentsSent++;
        return Verdict.Forward;
      case F:
        return this.block('function', '', '', {
          decision: 'blocked',
          rule: 'function-call-message',
          reason:
            'the FunctionCall protocol message is not allowed through jit; call the function with SELECT',
          approver: undefined,
        });
      default:
        return Verdict.Forward;
    }
  }

  /** Sees CommandComplete, ErrorResponse, ReadyForQuery, PortalSuspended and EmptyQueryResponse. */
  onUpstreamMessage(type: number, message: Buffer): Verdict {
    if (this.release) {
      const { replacement } = this.release;
      this.release = undefined;
      if (!replacement) return Verdict.Forward;
      this.ctl.writeClient(replacement);
      return Verdict.Consumed;
    }
    let replacement: Buffer | undefined;
    let completed = false;
    const head = this.units[0];
    switch (type) {
      case COMMAND_COMPLETE:
        if (head?.kind === 'query') head.addRows(commandRows(message));
        else if (head?.kind === 'execute') completed = this.complete(commandRows(message), undefined);
        break;
      case PORTAL_SUSPENDED:
      case EMPTY_QUERY:
        if (head?.kind === 'execute') completed = this.complete(undefined, undefined);
        break;
      case ERROR: {
        if (message.includes(this.sentinelBytes)) {
          const index = this.units.findIndex((u) => u.kind === 'blocked');
          const blocked = index >= 0 ? this.units.splice(index, 1)[0] : undefined;
          replacement =
            blocked?.replacement ??
            errorResponse({ severity: 'ERROR', code: '42501', message: 'jit: blocked' });
          completed = true; // its record was appended when it was blocked; in sync mode it must be on disk first
          break;
        }
        const sqlstate = parseErrorFields(message).C;
        if (head?.kind === 'query') head.sqlstate ??= sqlstate;
        else if (head?.kind === 'execute') completed = this.complete(undefined, sqlstate);
        break;
      }
      case Z:
        this.segmentsDone++;
        while (this.units.length > 0 && (this.units[0] as Unit).segment < this.segmentsDone) {
          const unit = this.units.shift() as Unit;
          // A blocked unit the server skipped (an earlier error in its pipeline) was already recorded.
          if (unit.kind !== 'blocked') this.record(unit);
          completed = true;
        }
        break;
      default:
        break;
    }
    if (completed && this.ctx.policy.audit.durability === 'sync') {
      this.release = { replacement };
      void this.ctx.audit.flushed().then(
        () => this.ctl.resumeUpstream(),
        () => {}, // the audit log's failure listener stops the session
      );
      return Verdict.Pause;
    }
    if (replacement) {
      this.ctl.writeClient(replacement);
      return Verdict.Consumed;
    }
    return Verdict.Forward;
  }

  /** The connection is gone: abort a pending approval, record what never completed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.holdAbort?.abort();
    for (const unit of this.units.splice(0)) {
      if (unit.kind === 'blocked') continue;
      unit.sqlstate ??= '08006';
      this.record(unit);
    }
  }

  private onStatement(kind: 'query' | 'parse', sql: string, name = ''): Verdict {
    const looked = this.ctx.cache.lookup(sql);
    const recordedSql = this.ctx.policy.audit.sql === 'raw' ? sql : looked.normalized;
    let facts: DecisionFacts;
    if (this.resolvedHold) {
      facts = this.resolvedHold;
      this.resolvedHold = undefined;
    } else {
      const { decision } = looked;
      facts = {
        decision: decision.action === 'block' ? 'blocked' : 'allowed',
        rule: decision.rule,
        reason: decision.wouldBe
          ? `audit-only: would ${decision.wouldBe}: ${decision.reason}`
          : decision.action === 'allow'
            ? undefined
            : decision.reason,
        approver: undefined,
      };
      if (decision.action === 'approve') {
        if (this.ctx.approvedFingerprints.has(looked.fingerprint)) {
          facts = {
            decision: 'approved',
            rule: decision.rule,
            reason: decision.reason,
            approver: 'session fingerprint approval',
          };
        } else {
          this.hold(sql, recordedSql, looked.fingerprint, decision.rule, decision.reason);
          return Verdict.Pause;
        }
      }
    }
    if ((facts.decision === 'allowed' || facts.decision === 'approved') && !facts.writeChecked) {
      const checked = this.checkWrites(sql, facts);
      if (checked === undefined) return Verdict.Pause;
      facts = checked;
    }
    if (facts.decision === 'blocked' || facts.decision === 'denied') {
      if (kind === 'parse') this.statements.delete(name);
      return this.block(kind, recordedSql, looked.fingerprint, facts);
    }
    if (kind === 'parse') {
      this.statements.set(name, { sql: recordedSql, fingerprint: looked.fingerprint, facts });
      return Verdict.Forward;
    }
    this.units.push(
      new Unit('query', this.segmentsSent++, recordedSql, looked.fingerprint, this.ctx.now(), facts),
    );
    return Verdict.Forward;
  }

  /**
   * The masking write check (see WriteCheck): the facts to go on with, or undefined when the
   * answer needs the catalog — the client stream pauses and the message is re-delivered then.
   */
  private checkWrites(sql: string, facts: DecisionFacts): DecisionFacts | undefined {
    const check = this.ctx.writeCheck;
    if (!check) return facts;
    const outcome = (reason: string | null): DecisionFacts => {
      if (reason === null) {
        // `facts` is this statement's own object (made in onStatement): mark it, no copy.
        facts.writeChecked = true;
        return facts;
      }
      if (this.ctx.policy.mode === 'audit-only') {
        return { ...facts, reason: `audit-only: would block: ${reason}`, writeChecked: true };
      }
      return {
        decision: 'blocked',
        rule: 'masked-data-copy',
        reason: `${reason}; masked data may only be written into masked columns`,
        approver: undefined,
        writeChecked: true,
      };
    };
    let verdict: string | null | Promise<string | null>;
    try {
      verdict = check(sql);
    } catch {
      verdict = 'its writes could not be checked against the masking rules';
    }
    if (!(verdict instanceof Promise)) return outcome(verdict);
    verdict
      .then(
        (reason) => outcome(reason),
        () =>
          outcome('its writes could not be checked against the masking rules (the catalog is unreachable)'),
      )
      .then((decided) => {
        if (this.closed) return;
        this.resolvedHold = decided;
        this.ctl.resumeClient();
      });
    return undefined;
  }

  /** Replaces a statement upstream with the sentinel and records the refusal now. */
  private block(
    kind: 'query' | 'parse' | 'function',
    sql: string,
    fingerprint: string,
    facts: DecisionFacts,
  ): Verdict {
    const rule = facts.rule ?? 'policy';
    const denied = facts.decision === 'denied';
    const why = facts.reason ?? (denied ? 'it was not approved' : 'it is not allowed by the policy');
    const replacement = errorResponse({
      severity: 'ERROR',
      code: '42501',
      message: `jit: ${why.includes(rule) ? why : `${why} (rule ${rule})`}`,
      hint: denied
        ? 'a person must approve it from `jit watch`; or rewrite it (e.g. add a WHERE clause)'
        : 'this statement is not allowed in this session; ask a person to run it or to change the jit policy',
    });
    const unit = new Unit(
      'blocked',
      kind === 'parse' ? this.segmentsSent : this.segmentsSent++,
      sql,
      fingerprint,
      this.ctx.now(),
      facts,
    );
    unit.replacement = replacement;
    unit.sqlstate = '42501';
    this.units.push(unit);
    this.record(unit);
    this.ctl.writeUpstream(
      kind === 'parse' ? parseMessage('', this.ctx.sentinel) : queryMessage(this.ctx.sentinel),
    );
    return Verdict.Consumed;
  }

  private hold(
    sql: string,
    recordedSql: string,
    fingerprint: string,
    rule: string | undefined,
    reason: string,
  ): void {
    const abort = new AbortController();
    this.holdAbort = abort;
    const timer = setTimeout(() => abort.abort(), this.ctx.policy.approval.timeoutMs);
    const request = {
      session: this.ctx.session,
      connection: this.connection,
      sql,
      normalized: recordedSql,
      fingerprint,
      rule,
      reason,
      requestedAt: new Date(),
    };
    const timedOut: ApprovalResult = {
      outcome: 'deny',
      approver: 'timeout',
      reason: 'nobody approved it in time',
    };
    void this.ctx.approver
      .request(request, abort.signal)
      .catch((): ApprovalResult =>
        abort.signal.aborted
          ? timedOut
          : { outcome: 'deny', approver: 'error', reason: 'the approver failed' },
      )
      .then((result) => {
        clearTimeout(timer);
        if (this.closed) return;
        const approved = result.outcome !== 'deny';
        if (result.outcome === 'approve_fingerprint') this.ctx.approvedFingerprints.add(fingerprint);
        this.appendEvent({
          kind: 'approval',
          sql: recordedSql,
          fingerprint,
          decision: approved ? 'approved' : 'denied',
          rule,
          approver: result.approver,
          reason:
            result.reason ??
            (result.outcome === 'approve_fingerprint' ? 'approved for this fingerprint' : reason),
        });
        this.resolvedHold = {
          decision: approved ? 'approved' : 'denied',
          rule,
          reason: approved
            ? reason
            : `${reason}; denied by ${result.approver}${result.reason ? `: ${result.reason}` : ''}`,
          approver: result.approver,
        };
        this.holdAbort = undefined;
        this.ctl.resumeClient();
      });
  }

  /** Completes the head unit (an Execute) with its outcome; returns true. */
  private complete(rows: number | undefined, sqlstate: string | undefined): boolean {
    const unit = this.units.shift() as Unit;
    unit.addRows(rows);
    unit.sqlstate = sqlstate;
    this.record(unit);
    return true;
  }

  private record(unit: Unit): void {
    const masked = unit.kind === 'blocked' ? undefined : this.ctl.takeMasked?.();
    this.ctx.audit.append({
      kind: 'statement',
      session: this.ctx.session,
      grant: this.ctx.grant,
      identity: this.ctx.identity,
      target: this.ctx.target,
      connection: this.connection,
      sql: unit.sql,
      fingerprint: unit.fingerprint,
      decision: unit.decision,
      rule: unit.rule,
      approver: unit.approver,
      reason: unit.reason,
      duration_ms: Math.round((this.ctx.now() - unit.startedAt) * 1000) / 1000,
      rows: unit.hasRows ? unit.rows : undefined,
      sqlstate: unit.sqlstate,
      masked: masked ? [...masked.keys()].sort() : undefined,
      detail: masked ? { masked_values: Object.fromEntries(masked) } : undefined,
    });
  }

  private appendEvent(
    event: Omit<AuditEvent, 'session' | 'grant' | 'identity' | 'target' | 'connection'>,
  ): void {
    this.ctx.audit.append({
      ...event,
      session: this.ctx.session,
      grant: this.ctx.grant,
      identity: this.ctx.identity,
      target: this.ctx.target,
      connection: this.connection,
    });
  }
}
