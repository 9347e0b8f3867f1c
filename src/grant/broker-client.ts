import type {
  ApprovalDecision,
  ApprovalItem,
  AuditUploadResult,
  GrantRequest,
  GrantResponse,
  GrantView,
  HoldRequest,
  HoldView,
} from '../broker/api.js';
import { API } from '../broker/api.js';
import { type FetchLike, providerFetch, transportError, type TransportPeer } from '../identity/http.js';
import { GrantError } from './types.js';

/** How transport errors name the broker and what to check. */
export const BROKER_PEER: TransportPeer = {
  noun: 'the broker',
  urlSetting: 'broker.url in jit.yaml (and that a broker is running)',
  caHint: 'if the broker uses a private CA, set broker.ca in jit.yaml to its PEM file',
};

/** An error answer from the broker, with its HTTP status and error code. */
export class BrokerError extends GrantError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    options: { hint?: string } = {},
  ) {
    super(code, message, options);
  }
}

/** The CLI's side of the broker API (src/broker/api.ts), authenticated with the caller's token. */
export class BrokerClient {
  private readonly fetch: FetchLike;
  private readonly token: () => Promise<string>;

  /** `token`: the caller's OIDC token, or a source that renews it (a long session outlives an ID token). */
  constructor(
    readonly url: string,
    token: string | (() => Promise<string>),
    ca?: string,
    fetchImpl?: FetchLike,
  ) {
    this.token = typeof token === 'string' ? async () => token : token;
    this.fetch = fetchImpl ?? providerFetch(ca);
  }

  requestGrant(body: GrantRequest): Promise<GrantResponse> {
    return this.call('POST', API.grants, body);
  }

  /** Open grants (pending, approved, active): the caller's, or with `all` everyone's (admins only). */
  async listGrants(all = false): Promise<GrantView[]> {
    return (await this.call<{ grants: GrantView[] }>('GET', `${API.grants}${all ? '?all=1' : ''}`)).grants;
  }

  /** Long-polls (up to `waitSeconds`) until the grant's status differs from `since`; `signal` ends the wait. */
  async getGrant(
    id: string,
    wait?: { seconds: number; since: string },
    signal?: AbortSignal,
  ): Promise<GrantView> {
    const query = wait ? `?wait=${wait.seconds}&since=${encodeURIComponent(wait.since)}` : '';
    const path = `${API.grant(id)}${query}`;
    return (await this.call<{ grant: GrantView }>('GET', path, undefined, wait?.seconds, signal)).grant;
  }

  issue(id: string): Promise<GrantResponse> {
    return this.call('POST', API.issue(id), {});
  }

  async heartbeat(id: string): Promise<GrantView> {
    return (await this.call<{ grant: GrantView }>('POST', API.heartbeat(id), {})).grant;
  }

  async revoke(id: string, reason: string): Promise<GrantView> {
    return (await this.call<{ grant: GrantView }>('DELETE', API.grant(id), { reason })).grant;
  }

  /**
   * The caller's approval queue. With `waitSeconds`, long-polls until the queue differs from
   * `since` (the ids the caller last saw; default: the queue when asked) or the wait ends;
   * `signal` ends the wait early.
   */
  async approvals(waitSeconds?: number, signal?: AbortSignal, since?: string[]): Promise<ApprovalItem[]> {
    const query = new URLSearchParams();
    if (waitSeconds) query.set('wait', String(waitSeconds));
    if (waitSeconds && since) query.set('since', since.join(','));
    const qs = query.toString();
    const path = qs ? `${API.approvals}?${qs}` : API.approvals;
    return (await this.call<{ items: ApprovalItem[] }>('GET', path, undefined, waitSeconds, signal)).items;
  }

  decide(id: string, decision: ApprovalDecision): Promise<{ item: ApprovalItem }> {
    return this.call('POST', API.approval(id), decision);
  }

  async createHold(body: HoldRequest): Promise<HoldView> {
    return (await this.call<{ hold: HoldView }>('POST', API.holds, body)).hold;
  }

  async getHold(id: string, waitSeconds?: number, signal?: AbortSignal): Promise<HoldView> {
    const query = waitSeconds ? `?wait=${waitSeconds}` : '';
    const path = `${API.hold(id)}${query}`;
    return (await this.call<{ hold: HoldView }>('GET', path, undefined, waitSeconds, signal)).hold;
  }

  uploadAudit(records: Record<string, unknown>[]): Promise<AuditUploadResult> {
    return this.call('POST', API.audit, { records });
  }

  async queryAudit(filters: Record<string, string | undefined>): Promise<Record<string, unknown>[]> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filters)) if (value !== undefined) query.set(key, value);
    const qs = query.toString();
    return (
      await this.call<{ records: Record<string, unknown>[] }>('GET', `${API.audit}${qs ? `?${qs}` : ''}`)
    ).records;
  }

  private async call<T>(
    method: string,
    path: string,
    body?: unknown,
    waitSeconds = 0,
    signal?: AbortSignal,
  ): Promise<T> {
    const url = new URL(path, this.url).toString();
    const token = await this.token();
    let response: Response;
    try {
      response = await this.fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: signal
          ? AbortSignal.any([signal, AbortSignal.timeout((waitSeconds + 15) * 1000)])
          : AbortSignal.timeout((waitSeconds + 15) * 1000),
      });
    } catch (err) {
      const transport = transportError(err, 'the request to the broker failed', this.url, BROKER_PEER);
      throw new BrokerError(
        0,
        'broker_unreachable',
        transport?.message ?? `cannot reach the broker at ${this.url}`,
        {
          hint: transport?.hint ?? 'check broker.url in jit.yaml and that a broker is running',
        },
      );
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new BrokerError(
        response.status,
        'broker_protocol',
        `the broker answered ${response.status} with something that is not JSON`,
      );
    }
    if (!response.ok) {
      const { error, message } = json as { error?: string; message?: string };
      throw new BrokerError(
        response.status,
        error ?? 'broker_error',
        `the broker refused: ${message ?? `HTTP ${response.status}`}`,
      );
    }
    return json as T;
  }
}
