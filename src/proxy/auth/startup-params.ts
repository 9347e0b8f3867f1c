import { JitError } from '../../util/errors.js';
import { isProtectedSettingChange } from '../../policy/security-settings.js';

/** A StartupMessage the proxy refuses; `sqlstate` goes into the FATAL sent to the client. */
export class StartupRefused extends JitError {
  readonly sqlstate: string;
  constructor(sqlstate: string, code: string, message: string, hint?: string) {
    super(code, message, hint === undefined ? {} : { hint });
    this.sqlstate = sqlstate;
  }
}

/** What the session allows a client to log in as. */
export interface StartupExpectation {
  user: string;
  database: string;
}

/** Parameters that pass to the upstream StartupMessage, after the checks. */
export type ForwardedParams = Record<string, string>;

/**
 * Splits a startup `options` string the way the server does (whitespace-separated,
 * backslash escapes) and returns the settings it makes (`-c name=value`, `--name=value`).
 * Anything else (`-d`, `-F`, bare words) is returned under `other` so the caller can refuse it.
 */
export function parseStartupOptions(options: string): { settings: [string, string][]; other: string[] } {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < options.length; i++) {
    const ch = options[i] as string;
    if (ch === '\\' && i + 1 < options.length) {
      word += options[++i];
      inWord = true;
    } else if (/[ \t\n\v\f\r]/.test(ch)) {
      // ASCII whitespace only, as the server's isspace(): a Unicode space (NBSP…) is part of
      // the word there, and splitting on it here would pair `-c` with the wrong word.
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);

  const settings: [string, string][] = [];
  const other: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    let assignment: string | undefined;
    if (w === '-c') assignment = words[++i];
    else if (w.startsWith('-c')) assignment = w.slice(2);
    else if (w.startsWith('--')) assignment = w.slice(2);
    if (assignment === undefined || !assignment.includes('=')) {
      other.push(w);
      continue;
    }
    const eq = assignment.indexOf('=');
    settings.push([assignment.slice(0, eq), assignment.slice(eq + 1)]);
  }
  return { settings, other };
}

function refuseSetting(name: string): never {
  throw new StartupRefused(
    '42501',
    'protected_setting',
    `jit: setting "${name}" at connection start is not allowed through this session`,
    'connect without it; settings that change identity or security are controlled by jit',
  );
}

/**
 * Checks a client's StartupMessage parameters against the session and returns the ones to
 * pass upstream. Refuses replication connections, other users and databases, and any
 * parameter or `options` entry that sets a protected setting (docs: runtime-config-client,
 * protocol-replication).
 */
export function checkStartupParams(
  params: Map<string, string>,
  expected: StartupExpectation,
): ForwardedParams {
  const user = params.get('user');
  if (!user)
    throw new StartupRefused('28000', 'no_user', 'no PostgreSQL user name specified in startup packet');
  if (user !== expected.user) {
    throw new StartupRefused(
      '28000',
      'wrong_user',
      `jit: this session only accepts user "${expected.user}" (got "${user}")`,
      'use the PGUSER / DATABASE_URL that jit set for this session',
    );
  }
  const database = params.get('database') || user;
  if (database !== expected.database) {
    throw new StartupRefused(
      '3D000',
      'wrong_database',
      `jit: this session grants access to database "${expected.database}" only (asked for "${database}")`,
    );
  }

  const forwarded: ForwardedParams = {};
  for (const [key, value] of params) {
    if (key === 'user' || key === 'database') continue;
    if (key === 'replication') {
      if (/^(false|off|no|0)$/i.test(value.trim())) continue;
      throw new StartupRefused(
        '42501',
        'replication_refused',
        'jit: replication connections are not allowed through this session',
      );
    }
    if (key.startsWith('_pq_.')) continue; // protocol extensions: answered by NegotiateProtocolVersion
    if (key === 'options') {
      const { settings, other } = parseStartupOptions(value);
      if (other.length > 0) {
        throw new StartupRefused(
          '42501',
          'bad_options',
          `jit: startup option "${other[0]}" is not allowed through this session; only -c name=value settings are`,
        );
      }
      for (const [name, setting] of settings)
        if (isProtectedSettingChange(name, setting)) refuseSetting(name);
      if (value.trim()) forwarded.options = value;
      continue;
    }
    if (isProtectedSettingChange(key, value)) refuseSetting(key);
    forwarded[key] = value;
  }
  return forwarded;
}
