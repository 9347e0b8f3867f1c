import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseYaml } from './fields.js';
import { ConfigError, parseConfig, type JitConfig } from './schema.js';

/** File names looked for in the working directory, in order. */
const DEFAULT_NAMES = ['jit.yaml', 'jit.yml'] as const;

/**
 * Discovery: opts.configPath (--config) > env.JIT_CONFIG > <cwd>/jit.yaml (then jit.yml).
 * A missing explicit file is an error naming it; no file at all is `no_config`.
 */
export async function loadConfig(opts: {
  configPath?: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
}): Promise<JitConfig> {
  const explicit = explicitSource(opts);
  if (explicit) {
    const file = path.resolve(opts.cwd, explicit.path);
    const text = await readConfigFile(file, labelFor(file, opts.cwd));
    if (text === undefined) {
      throw new ConfigError('config_not_found', `config file not found: ${file} (from ${explicit.from})`, {
        hint: explicit.hint,
      });
    }
    return parseConfigText(text, file, labelFor(file, opts.cwd));
  }
  for (const name of DEFAULT_NAMES) {
    const file = path.join(opts.cwd, name);
    const text = await readConfigFile(file, name);
    if (text !== undefined) return parseConfigText(text, file, labelFor(file, opts.cwd));
  }
  throw new ConfigError(
    'no_config',
    `no config file: no ${DEFAULT_NAMES.join(' or ')} in ${opts.cwd}, and neither \`--config\` nor JIT_CONFIG is set`,
    { hint: 'create jit.yaml (see README "Configuration") or pass --config FILE' },
  );
}

/** Parses YAML text and validates it; syntax errors carry `file:line:col`. */
export function parseConfigText(text: string, file: string | undefined, label = file ?? 'config'): JitConfig {
  return parseConfig(parseYaml(text, label), file, label);
}

function explicitSource(opts: {
  configPath?: string;
  env: NodeJS.ProcessEnv;
}): { path: string; from: string; hint: string } | undefined {
  if (opts.configPath !== undefined && opts.configPath !== '') {
    return { path: opts.configPath, from: '`--config`', hint: 'check the path given to --config' };
  }
  const fromEnv = opts.env.JIT_CONFIG;
  if (fromEnv !== undefined && fromEnv !== '') {
    return { path: fromEnv, from: 'JIT_CONFIG', hint: 'fix or unset the JIT_CONFIG environment variable' };
  }
  return undefined;
}

/** The file's text, or undefined when it does not exist; other read failures are ConfigErrors. */
async function readConfigFile(file: string, label: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    const reason = code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : code;
    throw new ConfigError(
      'config_unreadable',
      `cannot read config file ${label}: ${reason ?? String(error)}`,
      {
        cause: error,
      },
    );
  }
}

/** How messages name the file: relative to the working directory when inside it, else absolute. */
function labelFor(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
