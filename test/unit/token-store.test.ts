import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type StoredLogin, TokenStore, userConfigDir } from '../../src/identity/store.js';

const login = (issuer: string, idToken = 'eyJ.id.token-value'): StoredLogin => ({
  version: 1,
  issuer,
  clientId: 'jit-cli',
  idToken,
  refreshToken: 'refresh-secret-value',
  savedAt: 1,
});

describe('TokenStore with the file fallback', () => {
  let dir: string;
  let store: TokenStore;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'jit-store-'));
    store = new TokenStore({ JIT_CONFIG_DIR: path.join(dir, 'cfg'), JIT_KEYRING: 'off' });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes a 0600 file in a 0700 directory and says why it did not use the keyring', async () => {
    const location = await store.save(login('https://a.example'));
    expect(location).toEqual({
      kind: 'file',
      file: path.join(dir, 'cfg', 'tokens.json'),
      why: 'JIT_KEYRING=off',
    });
    expect((await stat(store.file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(dir, 'cfg'))).mode & 0o777).toBe(0o700);
    const loaded = await store.load('https://a.example', 'jit-cli');
    expect(loaded?.login.refreshToken).toBe('refresh-secret-value');
  });

  it('keeps the index free of secrets and remembers the store and CA', async () => {
    await store.save(login('https://a.example'), '/etc/ca.pem');
    const index = await readFile(path.join(dir, 'cfg', 'login.json'), 'utf8');
    expect(index).not.toContain('refresh-secret-value');
    expect(index).not.toContain('id.token');
    expect(await store.index()).toEqual({
      issuer: 'https://a.example',
      clientId: 'jit-cli',
      ca: '/etc/ca.pem',
      store: 'file',
    });
  });

  it('keeps logins of several issuers apart and deletes one without the other', async () => {
    await store.save(login('https://a.example', 'token-a'));
    await store.save(login('https://b.example', 'token-b'));
    expect((await store.load('https://a.example', 'jit-cli'))?.login.idToken).toBe('token-a');
    expect(await store.delete('https://a.example', 'jit-cli')).toBe(true);
    expect(await store.load('https://a.example', 'jit-cli')).toBeUndefined();
    expect((await store.load('https://b.example', 'jit-cli'))?.login.idToken).toBe('token-b');
    expect(await store.delete('https://a.example', 'jit-cli')).toBe(false);
  });

  it('removes the file when the last login is deleted', async () => {
    await store.save(login('https://a.example'));
    await store.delete('https://a.example', 'jit-cli');
    await expect(stat(store.file)).rejects.toThrow(/ENOENT/);
  });

  it.skipIf(process.platform === 'win32')('refuses a tokens file that others can read', async () => {
    await store.save(login('https://a.example'));
    await chmod(store.file, 0o644);
    await expect(store.load('https://a.example', 'jit-cli')).rejects.toThrow(
      /readable by other users \(mode 644\)/,
    );
  });

  it('reports a corrupt file clearly, and a new login replaces it', async () => {
    await store.save(login('https://a.example'));
    await writeFile(store.file, '{not json', { mode: 0o600 });
    await expect(store.load('https://a.example', 'jit-cli')).rejects.toThrow(/is not valid JSON/);
    await store.save(login('https://a.example', 'fresh'));
    expect((await store.load('https://a.example', 'jit-cli'))?.login.idToken).toBe('fresh');
  });
});

describe('userConfigDir', () => {
  it('follows JIT_CONFIG_DIR, XDG and the platform conventions', () => {
    expect(userConfigDir({ JIT_CONFIG_DIR: '/x' }, 'linux')).toBe('/x');
    expect(userConfigDir({ HOME: '/h', XDG_CONFIG_HOME: '/xdg' }, 'linux')).toBe('/xdg/jit');
    expect(userConfigDir({ HOME: '/h', XDG_CONFIG_HOME: 'relative' }, 'linux')).toBe('/h/.config/jit');
    expect(userConfigDir({ HOME: '/h' }, 'darwin')).toBe('/h/Library/Application Support/jit');
    expect(userConfigDir({ APPDATA: 'C:\\Users\\a\\AppData\\Roaming' }, 'win32')).toBe(
      'C:\\Users\\a\\AppData\\Roaming\\jit',
    );
  });
});
