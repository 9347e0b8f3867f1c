import type { TargetConfig } from '../config/schema.js';
import { type KeyringReader, resolveTarget } from '../config/target.js';
import { checkBroker } from './check-broker.js';
import { checkConfig } from './check-config.js';
import { checkIdentity } from './check-identity.js';
import { checkKeyring, type KeyringModule, loadOsKeyring } from './check-keyring.js';
import { checkTarget } from './check-target.js';
import { type ClockSample, checkClock } from './clock.js';
import { redact, secretsOf } from './redact.js';
import { type CheckResult, failFrom } from './result.js';

/** What `jit doctor` was asked to look at. */
export interface DoctorOptions {
  config?: string;
  /** One target; all of them when absent. */
  target?: string;
}

/** The outside world, injected: environment, working directory, clock, keyrings. */
export interface DoctorDeps {
  env: NodeJS.ProcessEnv;
  cwd: string;
  now: () => number;
  loadKeyring?: () => Promise<KeyringModule>;
  readKeyring?: KeyringReader;
}

/**
 * Runs every check in order — config, keyring, identity and login, broker, each target, clock — and
 * returns one result per line. Checks that depend on a failed one are left out, not failed again.
 */
export async function runDoctor(options: DoctorOptions, deps: DoctorDeps): Promise<CheckResult[]> {
  const { env } = deps;
  const results: CheckResult[] = [];
  const { result, config } = await checkConfig({
    ...(options.config !== undefined && { configPath: options.config }),
    env,
    cwd: deps.cwd,
  });
  results.push(result);
  results.push(...(await checkKeyring(env, deps.loadKeyring ?? loadOsKeyring)));
  if (!config) return results;

  const samples: ClockSample[] = [];
  const identity = await checkIdentity(config, deps);
  results.push(...identity.results);
  if (identity.clock) samples.push(identity.clock);
  results.push(...(await checkBroker(config)));

  let targets: TargetConfig[];
  try {
    targets =
      options.target === undefined ? Object.values(config.targets) : [resolveTarget(config, options.target)];
  } catch (error) {
    targets = [];
    results.push(failFrom('target', error, 'pass a target the config defines'));
  }
  for (const target of targets) {
    const checked = await checkTarget(target, deps);
    results.push(...checked.results);
    if (checked.clock) samples.push(checked.clock);
  }
  const clock = checkClock(samples);
  if (clock) results.push(clock);
  return redact(results, secretsOf(config, env));
}
