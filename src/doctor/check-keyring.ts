import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { userConfigDir } from '../identity/store.js';
import { type CheckResult, fail, ok, reasonOf, warn } from './result.js';

/** The part of `@napi-rs/keyring` the probe uses. */
export interface KeyringModule {
  Entry: new (
    service: string,
    account: string,
  ) => {
    setPassword(value: string): void;
    getPassword(): string | null | undefined;
    deletePassword(): boolean;
  };
}

/** The service the probe's throwaway entry lives under (never jit's own, `jit`). */
export const PROBE_SERVICE = 'jit-doctor';

/** Loads the real OS keyring binding. */
export const loadOsKeyring = (): Promise<KeyringModule> => import('@napi-rs/keyring');

/**
 * `keyring`: stores, reads back and deletes a throwaway entry. Where that fails, `jit login` keeps
 * tokens in a 0600 file instead (TokenStore): a warning, not a failure. A token file that others
 * can read is a failure, since jit refuses to use it.
 */
export async function checkKeyring(
  env: NodeJS.ProcessEnv,
  loadKeyring: () => Promise<KeyringModule> = loadOsKeyring,
): Promise<CheckResult[]> {
  const file = path.join(userConfigDir(env), 'tokens.json');
  const results = [await probe(env, file, loadKeyring)];
  const mode = await fileMode(file);
  if (mode !== undefined && process.platform !== 'win32' && (mode & 0o077) !== 0) {
    results.push(
      fail(
        'token file',
        `${file} is readable by other users (mode ${(mode & 0o777).toString(8)}); jit will not use tokens from it`,
        `run \`chmod 600 ${file}\` and \`jit login\` again, since the tokens may have been read`,
      ),
    );
  }
  return results;
}

async function probe(
  env: NodeJS.ProcessEnv,
  file: string,
  loadKeyring: () => Promise<KeyringModule>,
): Promise<CheckResult> {
  if (env.JIT_KEYRING === 'off') {
    return ok('keyring', `JIT_KEYRING=off: tokens are kept in ${file} (mode 0600)`);
  }
  try {
    const { Entry } = await loadKeyring();
    const entry = new Entry(PROBE_SERVICE, `probe-${randomBytes(6).toString('hex')}`);
    const value = randomBytes(16).toString('hex');
    entry.setPassword(value);
    try {
      if (entry.getPassword() !== value) throw new Error('it returned a different value than was stored');
    } finally {
      try {
        entry.deletePassword();
      } catch {
        // the probe entry is harmless if it stays; the read above decides
      }
    }
    return ok('keyring', 'the OS keyring works (stored, read and deleted a test entry); tokens go there');
  } catch (error) {
    return warn(
      'keyring',
      `no usable OS keyring (${reasonOf(error)}); tokens fall back to ${file} (mode 0600)`,
      'nothing to do on a headless machine or in CI; for the keyring, run a Secret Service (e.g. gnome-keyring) ' +
        'in a D-Bus session; JIT_KEYRING=off makes the file the choice and silences this',
    );
  }
}

async function fileMode(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).mode;
  } catch {
    return undefined;
  }
}
