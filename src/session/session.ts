import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { TargetConfig } from '../config/schema.js';
import { ConfigError } from '../config/schema.js';
import { DirectGrantIssuer } from '../grant/direct.js';
import type { Grant, GrantIssuer, Identity } from '../grant/types.js';
import { GrantError } from '../grant/types.js';
import { scramSecret } from '../proxy/auth/scram.js';
import type { UpstreamTls } from '../proxy/backend/upstream.js';
import type { ConnectionEvent } from '../proxy/connection.js';
import { ProxyServer } from '../proxy/server.js';
import type { ChildConnection } from '../child/env.js';
import { AuditLog } from '../audit/log.js';
import type { AuditEvent, AuditRecord } from '../audit/record.js';
import { initParser } from '../policy/parse.js';
import { DecisionCache } from '../policy/decision-cache.js';
import type { Policy } from '../policy/policy.js';
import type { Approver } from '../proxy/guard/approver.js';
import { UnattendedApprover } from '../proxy/guard/approver.js';
import type { GuardContext } from '../proxy/guard/statement-guard.js';
import { StatementGuard } from '../proxy/guard/statement-guard.js';
import { createSessionMasking, type SessionMasking } from '../proxy/mask/session-masking.js';
import { pgSslOptions } from '../grant/admin.js';
import type { JitError } from '../util/errors.js';
import { LiveHub } from '../live/hub.js';

/** Why a session ended. */
export type EndReason = 'expired' | 'stopped' | 'child_exited' | 'signal' | 'audit_failed' | 'revoked';

/** What a session needs to start. */
export interface SessionOptions {
  target: TargetConfig;
  /** The admin DSN for direct-mode grants (unused when `issuer` is given). */
  adminUrl?: string;
  /** Who creates the grant: the broker's issuer for `grant.via: broker`; direct mode otherwise. */
  issuer?: GrantIssuer;
  identity: Identity;
  ttlMs: number;
  /** Proxy port; 0 (default) picks a free one. */
  port?: number;
  onConnectionEvent?: (event: ConnectionEvent) => void;
  signal?: AbortSignal;
  policy: Policy;
  /** The session's audit file, given the session id (opened, locked and chained before the grant is issued). */
  auditPath: (session: string) => string;
  /** Decides held statements; the unattended approver (deny at once) when absent. */
  approver?: Approver;
  /** Live views' feed: statements, holds and the session's own events are published to it. */
  live?: LiveHub;
  /** Further listeners of every audit record from the first on (the broker shipper). */
  auditListeners?: ((record: AuditRecord) => void)[];
}

/**
 * One JIT session: a temporary role (the grant) plus the loopback proxy in front of it.
 * Ends at `stop()` or at expiry; either way every client connection is closed and the
 * role is dropped.
 */
export class JitSession {
  readonly id: string;
  readonly grant: Grant;
  /** How the child (or any local client) reaches the proxy. */
  readonly connection: ChildConnection;
  /** Resolves when the session has ended, with the reason. */
  readonly ended: Promise<EndReason>;
  private readonly proxy: ProxyServer;
  private readonly issuer: GrantIssuer;
  private stopWatching: (() => void) | undefined;
  private readonly expiryTimer: NodeJS.Timeout;
  private endedResolve!: (reason: EndReason) => void;
  private closing: Promise<void> | undefined;
  private ending: Promise<void> | undefined;
  private readonly masking: SessionMasking | undefined;
  private readonly live: LiveHub | undefined;
  /** Why the revoke at the end failed, if it did. */
  revokeError: Error | undefined;
  /** Why the audit log stopped the session, if it did. */
  auditError: JitError | undefined;
  /** Who revoked the grant elsewhere and why (the broker's words), when that ended the session. */
  revokedBecause: string | undefined;
  /** The session's audit log. */
  readonly audit: AuditLog;
  private readonly auditBase: Pick<AuditEvent, 'session' | 'grant' | 'identity' | 'target'>;

  private constructor(args: {
    id: string;
    grant: Grant;
    connection: ChildConnection;
    proxy: ProxyServer;
    issuer: GrantIssuer;
    ttlMs: number;
    audit: AuditLog;
    auditBase: Pick<AuditEvent, 'session' | 'grant' | 'identity' | 'target'>;
    masking: SessionMasking | undefined;
    live: LiveHub | undefined;
  }) {
    this.live = args.live;
    this.id = args.id;
    this.masking = args.masking;
    this.grant = args.grant;
    this.connection = args.connection;
    this.proxy = args.proxy;
    this.issuer = args.issuer;
    this.audit = args.audit;
    this.auditBase = args.auditBase;
    this.audit.onFailure((error) => void this.failAudit(error));
    this.ended = new Promise((resolve) => (this.endedResolve = resolve));
    this.expiryTimer = setTimeout(() => void this.expire(), args.ttlMs);
  }

  /** Issues the grant and starts the proxy; on any failure nothing is left behind. */
  static async start(options: SessionOptions): Promise<JitSession> {
    const { target } = options;
    if (!options.issuer && options.adminUrl === undefined) {
      throw new ConfigError('no_admin_url', `target '${target.name}' needs an admin credential or a broker`);
    }
    const tls = await loadTls(target);
    const id = randomBytes(6).toString('hex');
    await initParser();
    const audit = await AuditLog.open(options.auditPath(id), { durability: options.policy.audit.durability });
    for (const listener of options.auditListeners ?? []) audit.onRecord(listener);
    const live = options.live;
    if (live) {
      audit.onRecord((record) => {
        const event = LiveHub.statementEvent(record);
        if (event) live.publish(event);
      });
    }
    const identity = {
      sub: options.identity.sub,
      ...(options.identity.email ? { email: options.identity.email } : {}),
      ...(options.identity.issuer ? { iss: options.identity.issuer } : {}),
      authenticated: options.identity.authenticated,
    };
    const base = { session: id, grant: null, identity, target: target.name };
    audit.append({
      ...base,
      kind: 'session_start',
      detail: {
        pid: process.pid,
        policy: options.policy.source,
        ttl_ms: options.ttlMs,
        upstream: target.upstream.url,
      },
    });
    const issuer: GrantIssuer =
      options.issuer ?? new DirectGrantIssuer({ adminUrl: options.adminUrl ?? '', tls: target.tls });
    const grant = await issuer
      .issue(
        {
          target: target.name,
          database: target.upstream.database,
          identity: options.identity,
          session: id,
          ttlMs: options.ttlMs,
          roles: target.grant.roles,
          connectionLimit: target.grant.connectionLimit,
        },
        options.signal,
      )
      .catch(async (error: unknown) => {
        audit.append({
          ...base,
          kind: 'session_end',
          reason: 'grant failed',
          detail: { error: String(error) },
        });
        await audit.close().catch(() => {});
        throw error;
      });
    const auditBase = { ...base, grant: grant.role };
    audit.append({
      ...auditBase,
      kind: 'grant_issued',
      detail: { expires_at: grant.expiresAt.toISOString(), roles: grant.roles, database: grant.database },
    });
    const guardContext: GuardContext = {
      session: id,
      grant: grant.role,
      target: target.name,
      identity,
      policy: options.policy,
      cache: new DecisionCache(options.policy),
      audit,
      approver: options.approver ?? new UnattendedApprover(),
      approvedFingerprints: new Set(),
      sentinel: `jit_blocked_statement_${randomBytes(12).toString('hex')}`,
      now: () => performance.now(),
    };
    let masking: SessionMasking | undefined;
    try {
      masking = createSessionMasking(options.policy.masking, {
        host: target.upstream.host,
        port: target.upstream.port,
        user: grant.role,
        password: grant.password,
        database: grant.database,
        ssl: pgSslOptions(target.tls),
        connectionTimeoutMillis: 10_000,
      });
      if (masking) guardContext.writeCheck = masking.writeCheck;
      const oneTimePassword = randomBytes(24).toString('base64url');
      const proxy = new ProxyServer({
        port: options.port ?? 0,
        expected: { user: grant.role, database: grant.database },
        clientSecret: scramSecret(oneTimePassword),
        endpoint: { host: target.upstream.host, port: target.upstream.port, tls },
        upstreamUser: grant.role,
        upstreamPassword: grant.password,
        saltedPasswordCache: new Map(),
        emit: options.onConnectionEvent ?? (() => {}),
        createGuard: (connection, control) => new StatementGuard(connection, guardContext, control),
        ...(masking ? { createMasker: masking.createMasker } : {}),
      });
      const { host, port } = await proxy.listen();
      live?.publish({
        type: 'session',
        at: Date.now(),
        session: id,
        target: target.name,
        role: grant.role,
        identity,
        expiresAt: grant.expiresAt.getTime(),
        proxy: { host, port },
        approvalTimeoutMs: options.policy.approval.timeoutMs,
      });
      const connection: ChildConnection = {
        host,
        port,
        user: grant.role,
        password: oneTimePassword,
        database: grant.database,
        session: id,
        expiresAt: grant.expiresAt,
      };
      const session = new JitSession({
        id,
        grant,
        connection,
        proxy,
        issuer,
        ttlMs: options.ttlMs,
        audit,
        auditBase,
        masking,
        live,
      });
      session.stopWatching = issuer.watch?.(grant, (reason) => void session.revokedElsewhere(reason));
      return session;
    } catch (error) {
      await masking?.close().catch(() => {});
      await issuer.revoke(grant).catch(() => {});
      audit.append({ ...auditBase, kind: 'grant_revoked', reason: 'session failed to start' });
      audit.append({
        ...auditBase,
        kind: 'session_end',
        reason: 'start failed',
        detail: { error: String(error) },
      });
      await audit.close().catch(() => {});
      throw error;
    }
  }

  /** Live client connections through the proxy. */
  get connectionCount(): number {
    return this.proxy.connectionCount;
  }

  /** Ends the session: closes every connection, stops the proxy and drops the role. Idempotent. */
  async stop(reason: EndReason = 'stopped'): Promise<void> {
    this.closing ??= this.proxy.close({
      severity: 'FATAL',
      code: '57P01',
      message: 'jit: the session ended; its temporary database role was removed',
    });
    await this.closing;
    await this.end(reason);
  }

  /**
   * At expiry: end every connection and drop the role, but keep listening so that a client
   * that reconnects hears why (FATAL 57P01) instead of "connection refused".
   */
  private async expire(): Promise<void> {
    this.proxy.shutdown({
      severity: 'FATAL',
      code: '57P01',
      message: `jit: the grant for this session expired at ${this.grant.expiresAt.toISOString()}`,
      hint: 'start a new session (jit run / jit proxy) to get a new grant',
    });
    await this.end('expired');
  }

  /** The grant was ended elsewhere (the broker revoked it): close every connection, saying why. */
  private async revokedElsewhere(reason: string): Promise<void> {
    this.revokedBecause = reason;
    this.proxy.shutdown({
      severity: 'FATAL',
      code: '57P01',
      message: `jit: the grant for this session was revoked (${reason})`,
      hint: 'ask whoever revoked it, or start a new session',
    });
    await this.end('revoked');
  }

  /** The audit log cannot be written: never run unaudited — end every connection and the grant. */
  private async failAudit(error: JitError): Promise<void> {
    this.auditError = error;
    this.proxy.shutdown({
      severity: 'FATAL',
      code: '58030',
      message: 'jit: the audit log could not be written; the session was stopped',
      hint: 'ask the person running jit to check the audit log location',
    });
    await this.end('audit_failed');
  }

  private end(reason: EndReason): Promise<void> {
    this.ending ??= (async () => {
      clearTimeout(this.expiryTimer);
      this.stopWatching?.();
      await this.masking?.close().catch(() => {});
      let revoked = true;
      try {
        await this.issuer.revoke(this.grant);
      } catch (error) {
        revoked = false;
        this.revokeError =
          error instanceof Error
            ? error
            : new GrantError('revoke_failed', 'could not drop the temporary role');
      }
      if (!this.auditError) {
        try {
          if (revoked) this.audit.append({ ...this.auditBase, kind: 'grant_revoked', reason });
          this.audit.append({
            ...this.auditBase,
            kind: 'session_end',
            reason,
            ...(this.revokeError ? { detail: { revoke_error: this.revokeError.message } } : {}),
          });
          await this.audit.close();
        } catch {
          // The failure listener has recorded why.
        }
      } else {
        await this.audit.close().catch(() => {});
      }
      this.live?.publish({
        type: 'ended',
        at: Date.now(),
        reason: endText(reason, this.revokeError, this.revokedBecause),
      });
      this.live?.flush();
      this.endedResolve(reason);
    })();
    return this.ending;
  }
}

function endText(reason: EndReason, revokeError: Error | undefined, revokedBecause?: string): string {
  const what = {
    expired: 'the grant expired',
    stopped: 'the session was stopped',
    child_exited: 'the command exited',
    signal: 'ended by a signal',
    audit_failed: 'the audit log could not be written',
    revoked: `the grant was revoked${revokedBecause ? ` (${revokedBecause})` : ''}`,
  }[reason];
  return revokeError
    ? `${what}; the role could not be dropped (${revokeError.message})`
    : `${what}; role dropped`;
}

async function loadTls(target: TargetConfig): Promise<UpstreamTls> {
  if (!target.tls.ca) return { mode: target.tls.mode };
  try {
    return { mode: target.tls.mode, ca: await readFile(target.tls.ca) };
  } catch (error) {
    throw new ConfigError(
      'bad_ca',
      `cannot read the CA file ${target.tls.ca} for target '${target.name}' (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: error },
    );
  }
}
