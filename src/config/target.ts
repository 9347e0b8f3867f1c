import { DurationError, formatDuration, parseDuration } from '../util/duration.js';
import { ConfigError, MIN_TTL_MS, suggestion, type JitConfig, type TargetConfig } from './schema.js';

/** The OS keyring service under which `keyring:NAME` admin credentials are stored. */
export const KEYRING_SERVICE = 'jit';

/** Reads one secret from the OS keyring; resolves null when there is no such entry. */
export type KeyringReader = (service: string, account: string) => Promise<string | null>;

/** --target, else default_target, else the only target; otherwise a ConfigError listing the names. */
export function resolveTarget(config: JitConfig, name?: string): TargetConfig {
  const names = Object.keys(config.targets);
  const where = config.path ?? 'the config';
  const pick = (wanted: string, from: string): TargetConfig => {
    const target = Object.hasOwn(config.targets, wanted) ? config.targets[wanted] : undefined;
    if (target !== undefined) return target;
    throw new ConfigError(
      'unknown_target',
      `${from} ${wanted}: no such target in ${where}${suggestion(wanted, names)}`,
      {
        hint: names.length > 0 ? `known targets: ${names.join(', ')}` : 'add a target under `targets:`',
      },
    );
  };
  if (name !== undefined) return pick(name, '`--target`');
  if (config.defaultTarget !== undefined) return pick(config.defaultTarget, 'default_target');
  const [only] = names;
  if (names.length === 1 && only !== undefined) return config.targets[only] as TargetConfig;
  if (names.length === 0) {
    throw new ConfigError('no_target', `${where} defines no targets`, {
      hint: 'add a target under `targets:`',
    });
  }
  throw new ConfigError(
    'no_target',
    `${where} defines ${names.length} targets (${names.join(', ')}); which one?`,
    {
      hint: 'pass `--target NAME`, or set `default_target` in the config',
    },
  );
}

/** --ttl (a duration string) or the target's default, in ms; never above max_ttl nor below 10s. */
export function resolveTtl(target: TargetConfig, requested?: string): number {
  if (requested === undefined) return target.grant.ttlMs;
  let ttlMs: number;
  try {
    ttlMs = parseDuration(requested, '--ttl');
  } catch (error) {
    if (!(error instanceof DurationError)) throw error;
    throw new ConfigError('bad_ttl', error.message, { cause: error });
  }
  const shown = requested.trim();
  if (ttlMs > target.grant.maxTtlMs) {
    throw new ConfigError(
      'ttl_too_long',
      `\`--ttl\` ${shown} exceeds max_ttl ${formatDuration(target.grant.maxTtlMs)} for target '${target.name}'`,
      {
        hint: `ask for at most ${formatDuration(target.grant.maxTtlMs)}, or raise grant.max_ttl in the config`,
      },
    );
  }
  if (ttlMs < MIN_TTL_MS) {
    throw new ConfigError('ttl_too_short', `\`--ttl\` ${shown} is shorter than the minimum of 10s`);
  }
  return ttlMs;
}

/**
 * The admin DSN for direct mode: env[adminUrlEnv], or the OS keyring (service `jit`, account NAME)
 * for `keyring:NAME`. Never puts the secret in a message. `readKeyring` is injectable for tests.
 */
export async function resolveAdminUrl(
  target: TargetConfig,
  env: NodeJS.ProcessEnv,
  deps: { readKeyring?: KeyringReader } = {},
): Promise<string> {
  const source = target.grant.adminUrlEnv;
  if (target.grant.via !== 'direct') {
    throw new ConfigError(
      'not_direct',
      `target '${target.name}' uses via: ${target.grant.via}; only via: direct uses an admin credential`,
      {
        hint: "the broker holds this target's grants and drops ended and expired roles itself; revoke one with `jit grants revoke g_…` (its requester or a broker admin)",
      },
    );
  }
  if (source.startsWith('keyring:')) {
    return fromKeyring(target, source.slice('keyring:'.length), deps.readKeyring ?? readOsKeyring);
  }
  const value = env[source]?.trim();
  if (value === undefined || value === '') {
    throw new ConfigError(
      'no_admin_credential',
      `target '${target.name}' needs an admin connection URL in the environment variable ${source}, ` +
        `which is ${env[source] === undefined ? 'not set' : 'empty'}`,
      {
        hint:
          `export ${source}='postgres://ADMIN_USER:PASSWORD@${hostPort(target)}/${target.upstream.database}' ` +
          '(a role with CREATEROLE), or set grant.admin_url_env to keyring:NAME',
      },
    );
  }
  return value;
}

async function fromKeyring(target: TargetConfig, account: string, read: KeyringReader): Promise<string> {
  const entry = `service '${KEYRING_SERVICE}', account '${account}'`;
  let value: string | null;
  try {
    value = await read(KEYRING_SERVICE, account);
  } catch (error) {
    throw new ConfigError(
      'keyring_error',
      `cannot read the OS keyring entry (${entry}) for target '${target.name}': ${reasonOf(error)}`,
      {
        hint: 'unlock or start the OS keyring (on Linux: a Secret Service such as gnome-keyring), or set grant.admin_url_env to an environment variable',
        cause: error,
      },
    );
  }
  if (value === null || value.trim() === '') {
    throw new ConfigError(
      'no_admin_credential',
      `target '${target.name}' needs an admin connection URL in the OS keyring (${entry}), which has ${value === null ? 'no such entry' : 'an empty value'}`,
      {
        hint:
          `store the admin URL in the OS keyring under ${entry} ` +
          `(macOS: security add-generic-password -s ${KEYRING_SERVICE} -a ${account} -w), ` +
          'or set grant.admin_url_env to an environment variable',
      },
    );
  }
  return value.trim();
}

/** The real OS keyring via @napi-rs/keyring, loaded only when a target asks for it. */
const readOsKeyring: KeyringReader = async (service, account) => {
  const { Entry } = await import('@napi-rs/keyring');
  return new Entry(service, account).getPassword();
};

/** One line, no stack: native keyring errors are shown to a person as the reason. */
function reasonOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split('\n', 1)[0]?.trim() ?? '';
  if (line === '') return 'unknown error';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function hostPort(target: TargetConfig): string {
  const host = target.upstream.host.includes(':') ? `[${target.upstream.host}]` : target.upstream.host;
  return `${host}:${target.upstream.port}`;
}
