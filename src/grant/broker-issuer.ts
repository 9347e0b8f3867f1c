import type { GrantView } from '../broker/api.js';
import { type BrokerClient, BrokerError } from './broker-client.js';
import { type Grant, GrantError, type GrantIssuer, type IssueRequest } from './types.js';

/** How long one long-poll for a decision lasts before it is asked again. */
const WAIT_SECONDS = 20;

/** Options of the broker issuer. */
export interface BrokerIssuerOptions {
  /** Why the grant is wanted (shown to approvers, kept in the broker's records). */
  reason: string;
  /** Progress lines for the person waiting (approval pending, approved). */
  onProgress?: (line: string) => void;
  /** How often the CLI tells the broker it is alive (the reaper ends grants that stop). */
  heartbeatMs?: number;
}

/**
 * `grant.via: broker`: the broker holds the admin credential, decides, and creates the temporary
 * role; this side asks, waits for an approval when one is needed, heartbeats while the session
 * runs, learns of a revoke within a second (long-poll), and ends the grant with the session.
 */
export class BrokerGrantIssuer implements GrantIssuer {
  /** The broker's heartbeat interval for the issued grant. */
  private heartbeatSeconds: number | undefined;

  constructor(
    private readonly client: BrokerClient,
    private readonly options: BrokerIssuerOptions,
  ) {}

  async issue(req: IssueRequest, signal?: AbortSignal): Promise<Grant> {
    const response = await this.client.requestGrant({
      target: req.target,
      ttl_seconds: Math.round(req.ttlMs / 1000),
      ...(req.roles.length > 0 && { roles: req.roles }),
      reason: this.options.reason,
      session: req.session,
    });
    let view = response.grant;
    let credentials = response.credentials;
    if (!credentials) {
      const who = view.approvers?.groups.length ? ` by a member of ${view.approvers.groups.join(', ')}` : '';
      this.options.onProgress?.(
        `jit: grant request ${view.id} (rule ${view.rule}) needs approval${who}; waiting… (Ctrl-C cancels)\n`,
      );
      const onAbort = () => void this.client.revoke(view.id, 'request cancelled').catch(() => {});
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        while (view.status === 'pending') {
          if (signal?.aborted) throw new GrantError('cancelled', 'the grant request was cancelled');
          view = await this.client
            .getGrant(view.id, { seconds: WAIT_SECONDS, since: 'pending' }, signal)
            .catch((error: unknown) => {
              if (signal?.aborted) throw new GrantError('cancelled', 'the grant request was cancelled');
              throw error;
            });
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
      if (view.status !== 'approved') throw notGranted(view);
      this.options.onProgress?.(
        `jit: grant request ${view.id} approved by ${view.decided_by ?? 'an approver'}\n`,
      );
      const issued = await this.client.issue(view.id);
      view = issued.grant;
      credentials = issued.credentials;
      if (!credentials)
        throw new GrantError('issue_failed', `the broker issued ${view.id} without credentials`);
    }
    this.heartbeatSeconds = view.heartbeat_seconds;
    return {
      id: view.id,
      role: credentials.role,
      password: credentials.password,
      expiresAt: new Date(credentials.expires_at),
      target: req.target,
      database: req.database,
      session: req.session,
      roles: view.roles,
      identity: req.identity,
    };
  }

  async revoke(grant: { role: string; id?: string }): Promise<void> {
    if (!grant.id) return;
    try {
      await this.client.revoke(grant.id, 'session ended');
    } catch (error) {
      // Already over (revoked elsewhere, expired, reaped) or unknown to the broker: nothing left to end.
      if (error instanceof BrokerError && (error.code === 'not_active' || error.code === 'not_found')) return;
      throw error;
    }
  }

  watch(grant: Grant, onEnded: (reason: string) => void): () => void {
    const heartbeatMs = this.options.heartbeatMs ?? (this.heartbeatSeconds ?? 10) * 1000;
    let stopped = false;
    const polling = new AbortController();
    const ended = (view: GrantView) => {
      if (stopped) return;
      stopped = true;
      const by = view.decided_by ? ` by ${view.decided_by}` : '';
      onEnded(`${view.status}${by}${view.decision_reason ? `: ${view.decision_reason}` : ''}`);
    };
    const heartbeat = setInterval(() => {
      void this.client
        .heartbeat(grant.id)
        .then((view) => {
          if (view.status !== 'active') ended(view);
        })
        .catch(() => {});
    }, heartbeatMs);
    heartbeat.unref();
    void (async () => {
      while (!stopped) {
        try {
          const view = await this.client.getGrant(
            grant.id,
            { seconds: WAIT_SECONDS, since: 'active' },
            polling.signal,
          );
          if (view.status !== 'active') ended(view);
        } catch {
          if (stopped) break;
          // The broker may be restarting: try again shortly; heartbeats keep the grant alive meanwhile.
          await new Promise((resolve) => setTimeout(resolve, 1000).unref());
        }
      }
    })();
    return () => {
      stopped = true;
      polling.abort();
      clearInterval(heartbeat);
    };
  }
}

function notGranted(view: GrantView): GrantError {
  const by = view.decided_by ? ` by ${view.decided_by}` : '';
  const why = view.decision_reason ? `: ${view.decision_reason}` : '';
  if (view.status === 'denied') {
    return new GrantError('grant_denied', `grant request ${view.id} was denied${by}${why}`, {
      hint: 'ask the approver, or request different roles or a shorter TTL',
    });
  }
  return new GrantError(
    `grant_${view.status}`,
    `grant request ${view.id} ended as ${view.status}${by}${why}`,
  );
}
