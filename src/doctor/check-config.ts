import { loadConfig } from '../config/load.js';
import type { JitConfig } from '../config/schema.js';
import { type CheckResult, failFrom, ok } from './result.js';

/** `config`: found and valid (loadConfig's ConfigErrors already say where and what). */
export async function checkConfig(opts: {
  configPath?: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
}): Promise<{ result: CheckResult; config?: JitConfig }> {
  try {
    const config = await loadConfig(opts);
    const names = Object.keys(config.targets);
    const targets = `${names.length} target${names.length === 1 ? '' : 's'} (${names.join(', ')})`;
    return {
      result: ok('config', `${config.path ?? 'config'}: identity ${config.identity}, ${targets}`),
      config,
    };
  } catch (error) {
    return { result: failFrom('config', error, 'fix the config file (see README "Configuration")') };
  }
}
