import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { IdentityError } from './errors.js';

/** What `jit login` keeps. Secret: the whole record is stored in the keyring or the 0600 file. */
export interface StoredLogin {
  version: 1;
  issuer: string;
  clientId: string;
  idToken: string;
  accessToken?: string;
  refreshToken?: string;
  /** Epoch ms when the access token expires, when the provider said. */
  accessTokenExpiresAt?: number;
  savedAt: number;
}

/** Where a login's secrets live: the OS keyring, or the fallback file (path given). */
export type StoreLocation = { kind: 'keyring' } | { kind: 'file'; file: string; why: string };

/** Non-secret facts about the last login, so `whoami`/`logout` work without a config file. */
export interface LoginIndex {
  issuer: string;
  clientId: string;
  ca?: string;
  store: 'keyring' | 'file';
}

const KEYRING_SERVICE = 'jit';
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/**
 * jit's per-user config directory: `JIT_CONFIG_DIR`, else `$XDG_CONFIG_HOME/jit` or `~/.config/jit`
 * (Linux and other Unixes), `~/Library/Application Support/jit` (macOS), `%APPDATA%\jit` (Windows).
 */
export function userConfigDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string {
  if (env.JIT_CONFIG_DIR) return env.JIT_CONFIG_DIR;
  const home = env.HOME || os.homedir();
  if (platform === 'win32')
    return path.win32.join(env.APPDATA || path.win32.join(home, 'AppData', 'Roaming'), 'jit');
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Application Support', 'jit');
  const base =
    env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME)
      ? env.XDG_CONFIG_HOME
      : path.join(home, '.config');
  return path.join(base, 'jit');
}

/** The keyring account (and file key) of one issuer + client pair. */
function accountOf(issuer: string, clientId: string): string {
  return `oidc:${issuer}#${clientId}`;
}

interface KeyringEntry {
  setPassword(value: string): void;
  getPassword(): string | null | undefined;
  deletePassword(): boolean;
}

/**
 * Tokens in the OS keyring (`@napi-rs/keyring`), or — where no keyring is usable (headless Linux
 * and CI answer AccessDenied) or `JIT_KEYRING=off` — in `tokens.json` (mode 0600, directory 0700)
 * under the user's config dir. A fallback file readable by others is refused, like ssh does.
 */
export class TokenStore {
  readonly dir: string;
  readonly #env: NodeJS.ProcessEnv;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.#env = env;
    this.dir = userConfigDir(env);
  }

  get file(): string {
    return path.join(this.dir, 'tokens.json');
  }

  get #indexFile(): string {
    return path.join(this.dir, 'login.json');
  }

  /** Saves a login; says where it went (the file location carries why the keyring was not used). */
  async save(login: StoredLogin, ca?: string): Promise<StoreLocation> {
    const account = accountOf(login.issuer, login.clientId);
    const secret = JSON.stringify(login);
    let location: StoreLocation;
    const keyring = await this.#keyring(account);
    let why = keyring.why;
    if (keyring.entry) {
      try {
        keyring.entry.setPassword(secret);
        location = { kind: 'keyring' };
        // A stale copy in the file must not outlive a newer keyring login.
        await this.#fileDelete(account);
        await this.#writeIndex({
          issuer: login.issuer,
          clientId: login.clientId,
          ...(ca && { ca }),
          store: 'keyring',
        });
        return location;
      } catch (err) {
        why = `the OS keyring refused it (${errMessage(err)})`;
      }
    }
    await this.#fileWrite(account, login);
    location = { kind: 'file', file: this.file, why: why ?? 'the OS keyring is not usable' };
    await this.#writeIndex({
      issuer: login.issuer,
      clientId: login.clientId,
      ...(ca && { ca }),
      store: 'file',
    });
    return location;
  }

  /** The stored login for issuer + client, or undefined. */
  async load(
    issuer: string,
    clientId: string,
  ): Promise<{ login: StoredLogin; location: StoreLocation } | undefined> {
    const account = accountOf(issuer, clientId);
    const index = await this.index();
    const preferFile = index?.store === 'file' && index.issuer === issuer && index.clientId === clientId;
    if (!preferFile) {
      const keyring = await this.#keyring(account);
      if (keyring.entry) {
        try {
          const value = keyring.entry.getPassword();
          if (value) return { login: parseLogin(value, 'the OS keyring'), location: { kind: 'keyring' } };
        } catch {
          // Not usable: the file may hold it.
        }
      }
    }
    const fromFile = await this.#fileRead();
    const login = fromFile[account];
    if (!login) return undefined;
    return { login, location: { kind: 'file', file: this.file, why: 'stored there at login' } };
  }

  /** Deletes a login from both places; true when something was deleted. */
  async delete(issuer: string, clientId: string): Promise<boolean> {
    const account = accountOf(issuer, clientId);
    let deleted = false;
    const keyring = await this.#keyring(account);
    if (keyring.entry) {
      try {
        deleted = keyring.entry.deletePassword() || deleted;
      } catch {
        // Nothing there, or not usable.
      }
    }
    deleted = (await this.#fileDelete(account)) || deleted;
    const index = await this.index();
    if (index && index.issuer === issuer && index.clientId === clientId)
      await rm(this.#indexFile, { force: true });
    return deleted;
  }

  /** The last login's non-secret facts, if any. */
  async index(): Promise<LoginIndex | undefined> {
    try {
      const parsed = JSON.parse(await readFile(this.#indexFile, 'utf8')) as Partial<LoginIndex>;
      if (typeof parsed.issuer !== 'string' || typeof parsed.clientId !== 'string') return undefined;
      return {
        issuer: parsed.issuer,
        clientId: parsed.clientId,
        ...(typeof parsed.ca === 'string' && { ca: parsed.ca }),
        store: parsed.store === 'file' ? 'file' : 'keyring',
      };
    } catch {
      return undefined;
    }
  }

  async #keyring(account: string): Promise<{ entry?: KeyringEntry; why?: string }> {
    if (this.#env.JIT_KEYRING === 'off') return { why: 'JIT_KEYRING=off' };
    try {
      const { Entry } = await import('@napi-rs/keyring');
      const entry = new Entry(KEYRING_SERVICE, account);
      // Probe: a keyring that cannot be read (headless Linux: AccessDenied) is not usable.
      entry.getPassword();
      return { entry };
    } catch (err) {
      return { why: `no usable OS keyring (${errMessage(err)})` };
    }
  }

  async #fileRead(): Promise<Record<string, StoredLogin>> {
    let info;
    try {
      info = await stat(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw storeError(`cannot read ${this.file}`, err);
    }
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      throw new IdentityError(
        'tokens_file_mode',
        `${this.file} is readable by other users (mode ${(info.mode & 0o777).toString(8)}); jit will not use tokens from it`,
        {
          hint: `run \`chmod 600 ${this.file}\` and \`jit login\` again, since the tokens may have been read`,
        },
      );
    }
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      throw storeError(`cannot read ${this.file}`, err);
    }
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const out: Record<string, StoredLogin> = {};
      for (const [account, value] of Object.entries(parsed))
        out[account] = parseLogin(JSON.stringify(value), this.file);
      return out;
    } catch (err) {
      if (err instanceof IdentityError) throw err;
      throw new IdentityError('tokens_file_corrupt', `${this.file} is not valid JSON`, {
        hint: `delete it and run \`jit login\` again`,
      });
    }
  }

  async #fileWrite(account: string, login: StoredLogin): Promise<void> {
    const all = await this.#fileRead().catch((err: unknown): Record<string, StoredLogin> => {
      if (err instanceof IdentityError && err.code === 'tokens_file_corrupt') return {};
      throw err;
    });
    all[account] = login;
    await this.#writeAtomically(this.file, JSON.stringify(all, null, 2));
  }

  async #fileDelete(account: string): Promise<boolean> {
    let all: Record<string, StoredLogin>;
    try {
      all = await this.#fileRead();
    } catch {
      return false;
    }
    if (!(account in all)) return false;
    delete all[account];
    if (Object.keys(all).length === 0) await rm(this.file, { force: true });
    else await this.#writeAtomically(this.file, JSON.stringify(all, null, 2));
    return true;
  }

  async #writeIndex(index: LoginIndex): Promise<void> {
    await this.#writeAtomically(this.#indexFile, JSON.stringify(index, null, 2));
  }

  /** Writes through a 0600 temporary file and renames it, so no reader sees a partial or open file. */
  async #writeAtomically(file: string, text: string): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: DIR_MODE });
      const tmp = `${file}.${process.pid}.tmp`;
      const handle = await open(tmp, 'w', FILE_MODE);
      try {
        await handle.chmod(FILE_MODE);
        await handle.writeFile(`${text}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, file);
      await chmod(file, FILE_MODE);
    } catch (err) {
      throw storeError(`cannot write ${file}`, err);
    }
  }
}

function parseLogin(text: string, where: string): StoredLogin {
  const value = JSON.parse(text) as Partial<StoredLogin>;
  if (
    value.version !== 1 ||
    typeof value.issuer !== 'string' ||
    typeof value.clientId !== 'string' ||
    typeof value.idToken !== 'string'
  ) {
    throw new IdentityError(
      'tokens_corrupt',
      `the login stored in ${where} is not one this jit understands`,
      {
        hint: 'run `jit login` again',
      },
    );
  }
  return value as StoredLogin;
}

function storeError(what: string, err: unknown): IdentityError {
  return new IdentityError('tokens_io', `${what}: ${errMessage(err)}`, {
    hint: 'check the permissions and free space of the directory (JIT_CONFIG_DIR overrides it)',
    cause: err,
  });
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
