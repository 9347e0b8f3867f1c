import { existsSync } from 'node:fs';
import type { BrokerCommandOptions } from '../cli/broker.js';
import { loadBrokerConfig } from '../broker/config.js';
import { BrokerStartError } from '../broker/errors.js';
import { startBroker } from '../broker/server.js';

/** `jit broker`: runs one replica until SIGTERM/SIGINT; `--check` validates and exits. */
export async function brokerCommand(options: BrokerCommandOptions): Promise<number> {
  const file = options.config ?? process.env.JIT_BROKER_CONFIG ?? 'broker.yaml';
  if (!options.config && !process.env.JIT_BROKER_CONFIG && !existsSync(file)) {
    throw new BrokerStartError(
      'no_config',
      'no broker config: pass --config FILE (or set JIT_BROKER_CONFIG)',
      {
        hint: 'see "Team mode: the broker" in the README for a broker.yaml to start from',
      },
    );
  }
  const config = await loadBrokerConfig(file);
  if (options.check) {
    const missing = [config.state.urlEnv, ...Object.values(config.targets).map((t) => t.adminUrlEnv)].filter(
      (name) => !process.env[name],
    );
    if (missing.length > 0) {
      throw new BrokerStartError(
        'env_missing',
        `${config.path} is valid, but these are not set: ${missing.map((m) => `$${m}`).join(', ')}`,
      );
    }
    process.stderr.write(
      `jit: ${config.path} is valid: ${config.issuers.length} issuer(s), ${Object.keys(config.targets).length} target(s), ${config.rules.length} rule(s)\n`,
    );
    return 0;
  }
  const broker = await startBroker(config);
  process.stderr.write(`jit: broker ${broker.replica} listening on ${broker.url} (Ctrl-C stops it)\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await broker.close();
  return 0;
}
