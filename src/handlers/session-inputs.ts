import { loadConfig } from '../config/load.js';
import type { JitConfig, TargetConfig } from '../config/schema.js';
import { resolveAdminUrl, resolveTarget, resolveTtl } from '../config/target.js';
import type { Identity } from '../grant/types.js';
import { type IdentityOptions, resolveIdentity } from '../identity/resolve.js';
import { defaultAuditDir, sessionAuditPath } from '../audit/paths.js';
import type { Policy } from '../policy/policy.js';
import { loadPolicy } from '../policy/policy.js';
import { BrokerClient } from '../grant/broker-client.js';
import { ConfigError } from '../config/schema.js';

/** Everything a session-starting command resolves before it touches the database. */
export interface SessionInputs {
  config: JitConfig;
  target: TargetConfig;
  /** The admin DSN (direct mode); empty for broker targets, whose admin credential stays with the broker. */
  adminUrl: string;
  /** For `grant.via: broker`: the broker, authenticated as the identity. */
  broker?: BrokerClient;
  identity: Identity;
  /** Token and secret values (and variable names) that must not reach the child. */
  identitySecrets: { values: string[]; envNames: string[] };
  ttlMs: number;
  policy: Policy;
  /** Where a session's audit trail goes, given its id. */
  auditPath: (session: string) => string;
}

/** Loads config, picks the target and TTL, finds the admin credential and the identity. */
export async function resolveSessionInputs(
  options: {
    config?: string;
    target?: string;
    ttl?: string;
    policy?: string;
    auditLog?: string;
  } & IdentityOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SessionInputs> {
  const config = await loadConfig({ configPath: options.config, env, cwd: process.cwd() });
  const target = resolveTarget(config, options.target);
  const ttlMs = resolveTtl(target, options.ttl);
  const policy = await loadPolicy(options.policy ?? target.policy);
  const viaBroker = target.grant.via === 'broker';
  const adminUrl = viaBroker ? '' : await resolveAdminUrl(target, env);
  const { identity, secrets, stripEnv, tokenSource } = await resolveIdentity(config, options, env);
  let broker: BrokerClient | undefined;
  if (viaBroker) {
    if (!tokenSource || !config.broker) {
      throw new ConfigError(
        'broker_needs_oidc',
        `target '${target.name}' uses the broker, which needs a verified identity`,
        {
          hint: 'set `identity: oidc` and run `jit login` (or use a CI token)',
        },
      );
    }
    broker = new BrokerClient(config.broker.url, tokenSource, config.broker.ca);
  }
  const configured = typeof config.audit?.path === 'string' ? config.audit.path : undefined;
  const fixed = options.auditLog ?? configured;
  const dir = defaultAuditDir(env);
  const auditPath = (session: string) => fixed ?? sessionAuditPath(dir, session, new Date());
  return {
    config,
    target,
    adminUrl,
    ...(broker && { broker }),
    identity,
    identitySecrets: { values: secrets, envNames: stripEnv },
    ttlMs,
    policy,
    auditPath,
  };
}

/** Admin access for the `jit grants` commands. */
export async function resolveAdminInputs(
  options: { config?: string; target?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ target: TargetConfig; adminUrl: string }> {
  const config = await loadConfig({ configPath: options.config, env, cwd: process.cwd() });
  const target = resolveTarget(config, options.target);
  return { target, adminUrl: await resolveAdminUrl(target, env) };
}
