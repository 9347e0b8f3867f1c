import { loadConfig } from '../config/load.js';
import { ConfigError, type JitConfig } from '../config/schema.js';
import { BrokerClient } from '../grant/broker-client.js';
import { IdentityError } from '../identity/errors.js';
import { type IdentityOptions, resolveIdentity } from '../identity/resolve.js';

/** The config the other commands use (`--config`, then JIT_CONFIG, then ./jit.yaml). */
export function loadCommandConfig(
  configPath: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<JitConfig> {
  return loadConfig({ configPath, env, cwd: process.cwd() });
}

/** The config's broker section, or an error saying that `command` needs one. */
export function brokerSection(config: JitConfig, command: string): NonNullable<JitConfig['broker']> {
  if (config.broker) return config.broker;
  throw new ConfigError(
    'no_broker',
    `${command} talks to the team broker, and ${config.path ?? 'the config'} has no \`broker:\` section`,
    { hint: 'add `broker: { url: https://… }` to jit.yaml, or pass the team config with --config' },
  );
}

/**
 * A client for the config's broker, authenticated as the caller (their `jit login`, or a CI token
 * with the identity options). `command` names what needs it in errors.
 */
export async function brokerClientFor(
  config: JitConfig,
  command: string,
  options: IdentityOptions,
  env: NodeJS.ProcessEnv,
): Promise<BrokerClient> {
  const broker = brokerSection(config, command);
  const needsLogin = (hint: string, cause?: unknown) =>
    new IdentityError('broker_needs_login', `${command} needs your login: run \`jit login\``, {
      hint,
      ...(cause !== undefined && { cause }),
    });
  if (config.identity !== 'oidc') {
    throw needsLogin('the broker verifies who you are: set `identity: oidc` (and `oidc:`) in jit.yaml');
  }
  let tokenSource: (() => Promise<string>) | undefined;
  try {
    ({ tokenSource } = await resolveIdentity(config, options, env));
  } catch (error) {
    if (error instanceof IdentityError && error.code === 'not_logged_in') {
      throw needsLogin(`${error.message}${error.hint ? `; ${error.hint}` : ''}`, error);
    }
    throw error;
  }
  if (!tokenSource) throw needsLogin('the broker needs a verified identity');
  return new BrokerClient(broker.url, tokenSource, broker.ca);
}
