import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { TargetConfig } from '../config/schema.js';
import { ConfigError } from '../config/schema.js';
import { DirectGrantIssuer } from '../grant/direct.js';
import type { Grant, Identity } from '../grant/types.js';
import { GrantError } from '../grant/types.js';
import { scramSecret } from '../proxy/auth/scram.js';
import type { UpstreamTls } from '../proxy/backend/upstream.js';
import type { ConnectionEvent } from '../proxy/connection.js';
import { ProxyServer } from '../proxy/server.js';
import type { ChildConnection } from '../child/env.js';

/** Why a session ended. */
export type EndReason = 'expired' | 'stopped' | 'child_exited' | 'signal';

/** What a session needs to start. */
export interface SessionOptions {
  target: TargetConfig;
  adminUrl: string;
  identity: Identity;
  ttlMs: number;
  /** Proxy port; 0 (default) picks a free one. */
  port?: number;
  onConnectionEvent?: (event: ConnectionEvent) => void;
  signal?: AbortSignal;
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
  private readonly issuer: DirectGrantIssuer;
  private readonly expiryTimer: NodeJS.Timeout;
  private endedResolve!: (reason: EndReason) => void;
  private closing: Promise<void> | undefined;
  private ending: Promise<void> | undefined;
  /** Why the revoke at the end failed, if it did. */
  revokeError: Error | undefined;

  private constructor(args: {
    id: string;
    grant: Grant;
    connection: ChildConnection;
    proxy: ProxyServer;
    issuer: DirectGrantIssuer;
    ttlMs: number;
  }) {
    this.id = args.id;
    this.grant = args.grant;
    this.connection = args.connection;
    this.proxy = args.proxy;
    this.issuer = args.issuer;
    this.ended = new Promise((resolve) => (this.endedResolve = resolve));
    this.expiryTimer = setTimeout(() => void this.expire(), args.ttlMs);
  }

  /** Issues the grant and starts the proxy; on any failure nothing is left behind. */
  static async start(options: SessionOptions): Promise<JitSession> {
    const { target } = options;
    if (target.grant.via !== 'direct') {
      throw new ConfigError(
        'broker_unavailable',
        `target '${target.name}' uses grant.via: broker, which this version of jit does not support yet`,
        { hint: 'use grant.via: direct with admin_url_env' },
      );
    }
    const tls = await loadTls(target);
    const id = randomBytes(6).toString('hex');
    const issuer = new DirectGrantIssuer({ adminUrl: options.adminUrl, tls: target.tls });
    const grant = await issuer.issue(
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
    );
    try {
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
      });
      const { host, port } = await proxy.listen();
      const connection: ChildConnection = {
        host,
        port,
        user: grant.role,
        password: oneTimePassword,
        database: grant.database,
        session: id,
        expiresAt: grant.expiresAt,
      };
      return new JitSession({ id, grant, connection, proxy, issuer, ttlMs: options.ttlMs });
    } catch (error) {
      await issuer.revoke(grant).catch(() => {});
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

  private end(reason: EndReason): Promise<void> {
    this.ending ??= (async () => {
      clearTimeout(this.expiryTimer);
      try {
        await this.issuer.revoke(this.grant);
      } catch (error) {
        this.revokeError =
          error instanceof Error
            ? error
            : new GrantError('revoke_failed', 'could not drop the temporary role');
      }
      this.endedResolve(reason);
    })();
    return this.ending;
  }
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
