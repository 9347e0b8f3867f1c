import type pg from 'pg';
import { gcGrants } from '../grant/admin.js';
import type { BrokerConfig } from './config-types.js';
import type { Logger } from './log.js';
import { notify } from './notifier.js';
import type { TargetIssuer } from './service.js';
import { expireHolds, type GrantRow, transaction, updateGrant } from './store.js';

/** Arbitrary, fixed key of the advisory lock that makes one replica at a time the reaper. */
const REAPER_LOCK = 0x6a69_7402;

/** What one pass did (for logs and tests). */
export interface ReapResult {
  expiredHolds: number;
  expiredRequests: number;
  ended: { id: string; role: string | null; why: 'expired' | 'no_heartbeat' }[];
  gcDropped: string[];
  failures: string[];
}

/**
 * Ends what nobody will end otherwise: held statements and grant requests past their deadlines,
 * grants past expiry, grants whose CLI stopped sending heartbeats (killed, or lost its network),
 * and expired `jit_` roles left in the targets (a crash mid-issue). Every replica runs it on a
 * timer; a transaction-scoped advisory lock lets exactly one replica do a pass at a time.
 */
export class Reaper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly deps: {
      config: BrokerConfig;
      pool: pg.Pool;
      log: Logger;
      issuerFor: (target: BrokerConfig['targets'][string]) => TargetIssuer;
      env: NodeJS.ProcessEnv;
    },
  ) {}

  start(): void {
    const tick = () => {
      this.running = this.runOnce()
        .catch((error: unknown) => {
          this.deps.log('error', 'reaper pass failed', {
            error: error instanceof Error ? error.message : String(error),
          });
        })
        .finally(() => {
          this.running = undefined;
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.deps.config.reaper.intervalMs);
        });
    };
    this.timer = setTimeout(tick, this.deps.config.reaper.intervalMs);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass; undefined when another replica holds the reaper lock. */
  async runOnce(): Promise<ReapResult | undefined> {
    const { config, pool, log } = this.deps;
    const result = await transaction(pool, async (client) => {
      const { rows: lock } = await client.query<{ got: boolean }>(
        'SELECT pg_try_advisory_xact_lock($1) AS got',
        [REAPER_LOCK],
      );
      if (!lock[0]?.got) return undefined;
      const result: ReapResult = {
        expiredHolds: 0,
        expiredRequests: 0,
        ended: [],
        gcDropped: [],
        failures: [],
      };

      const holds = await expireHolds(client);
      result.expiredHolds = holds.length;
      for (const hold of holds) await notify(client, `hold:${hold.id}`);

      const pendingSeconds = config.approval.pendingTimeoutMs / 1000;
      const { rows: stale } = await client.query<{ id: string }>(
        `UPDATE jit_grants SET status = 'expired', decided_by = coalesce(decided_by, 'timeout'),
                decision_reason = coalesce(decision_reason, 'not decided or not issued in time'),
                ended_at = now(), updated_at = now()
          WHERE (status = 'pending' AND created_at < now() - make_interval(secs => $1::float8))
             OR (status = 'approved' AND decided_at < now() - make_interval(secs => $1::float8))
          RETURNING id`,
        [pendingSeconds],
      );
      result.expiredRequests = stale.length;
      for (const grant of stale) await notify(client, `grant:${grant.id}`);
      if (holds.length + stale.length > 0) await notify(client, 'queue');

      const { rows: ending } = await client.query<GrantRow & { past_expiry: boolean }>(
        `SELECT *, expires_at < now() AS past_expiry FROM jit_grants
          WHERE status = 'active'
            AND (expires_at < now() OR heartbeat_at < now() - make_interval(secs => $1::float8))
          FOR UPDATE SKIP LOCKED`,
        [config.reaper.heartbeatTimeoutMs / 1000],
      );
      for (const grant of ending) {
        const why = grant.past_expiry ? 'expired' : 'no_heartbeat';
        const target = config.targets[grant.target];
        try {
          if (target && grant.role) await this.deps.issuerFor(target).revoke({ role: grant.role });
        } catch (error) {
          result.failures.push(`${grant.id}: ${error instanceof Error ? error.message : String(error)}`);
          continue;
        }
        await updateGrant(client, grant.id, {
          status: why === 'expired' ? 'expired' : 'revoked',
          decided_by: 'reaper',
          decision_reason:
            why === 'expired'
              ? 'the grant expired'
              : `no heartbeat from the CLI for over ${Math.round(config.reaper.heartbeatTimeoutMs / 1000)}s (jit was killed or lost the broker)`,
          ended_at: new Date(),
        });
        await notify(client, `grant:${grant.id}`);
        result.ended.push({ id: grant.id, role: grant.role, why });
        log(
          'info',
          why === 'expired'
            ? 'reaper: grant expired, role dropped'
            : 'reaper: grant without heartbeat, role dropped',
          {
            grant: grant.id,
            role: grant.role,
            target: grant.target,
          },
        );
      }

      for (const target of Object.values(config.targets)) {
        try {
          const { dropped, failed } = await gcGrants({
            adminUrl: this.deps.env[target.adminUrlEnv] ?? '',
            tls: target.tls,
          });
          result.gcDropped.push(...dropped);
          for (const f of failed) result.failures.push(`${target.name}/${f.role}: ${f.reason}`);
          if (dropped.length > 0)
            log('info', 'reaper: dropped expired jit roles', { target: target.name, roles: dropped });
        } catch (error) {
          result.failures.push(`${target.name}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      return result;
    });
    for (const failure of result?.failures ?? [])
      log('warn', 'reaper: could not end a grant; will retry', { failure });
    return result;
  }
}
