import path from 'node:path';
import type { IdentityCommandOptions } from '../cli/identity.js';
import { loadConfig } from '../config/load.js';
import type { JitConfig } from '../config/schema.js';
import { openBrowser } from '../identity/browser.js';
import { IdentityError } from '../identity/errors.js';
import { deviceLogin, logout, type DeviceLoginUi } from '../identity/login.js';
import type { ProviderSettings } from '../identity/provider.js';
import { resolveIdentity } from '../identity/resolve.js';
import { type StoreLocation, TokenStore } from '../identity/store.js';
import type { VerifiedIdentity } from '../identity/verify.js';
import { formatDuration } from '../util/duration.js';
import { isJitError } from '../util/errors.js';

/** `jit login`: the device flow, then where the tokens went. */
export async function loginCommand(options: IdentityCommandOptions): Promise<number> {
  const settings = await providerSettings(options, await optionalConfig(options), undefined);
  const err = process.stderr;
  const controller = new AbortController();
  // Ctrl-C or SIGTERM: stop at once (the poll may be sleeping); nothing is stored yet.
  const onSignal = () => {
    controller.abort();
    err.write('\njit: login cancelled\n');
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await deviceLogin(settings, terminalUi(err, options.browser !== false), {
      signal: controller.signal,
    });
    const { identity } = result;
    err.write(`Logged in as ${describe(identity)} at ${identity.issuer}.\n`);
    err.write(`${storedLine(result.location)}\n`);
    if (!result.refreshable) {
      err.write(
        `The provider issued no refresh token: log in again after ${new Date(identity.expiresAt).toISOString()}.\n`,
      );
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `jit logout`. */
export async function logoutCommand(options: IdentityCommandOptions): Promise<number> {
  const store = new TokenStore();
  const settings = await providerSettings(options, await optionalConfig(options), store);
  const result = await logout(settings, store);
  if (!result.found) {
    process.stderr.write(`Not logged in to ${settings.issuer}; nothing to do.\n`);
    return 0;
  }
  if (result.revoked === 'yes') {
    process.stderr.write(
      `Logged out of ${settings.issuer}: tokens revoked at the provider and deleted here.\n`,
    );
    return 0;
  }
  if (result.revoked === 'unsupported') {
    process.stderr.write(
      `Logged out of ${settings.issuer}: tokens deleted here (the provider offers no revocation; they stay valid until they expire).\n`,
    );
    return 0;
  }
  process.stderr.write(
    `jit: tokens deleted here, but revoking them at ${settings.issuer} failed: ${result.revoked.failed}\n` +
      '  hint: they stay valid at the provider until they expire; revoke the session in its UI if that matters\n',
  );
  return 1;
}

/** `jit whoami [--json]`. */
export async function whoamiCommand(options: IdentityCommandOptions): Promise<number> {
  const config = await optionalConfig(options);
  let identity: VerifiedIdentity | { sub: string; name: string; authenticated: false };
  let location: StoreLocation | undefined;
  if (config && !options.issuer) {
    const resolved = await resolveIdentity(
      config,
      {
        ...(options.ci && { ci: true }),
        ...(options.clientId && { clientId: options.clientId }),
        ...(options.clientSecretEnv && { clientSecretEnv: options.clientSecretEnv }),
      },
      process.env,
    );
    identity = resolved.identity as typeof identity;
    location = resolved.location;
  } else {
    const store = new TokenStore();
    const settings = await providerSettings(options, config, store);
    const { currentLogin } = await import('../identity/login.js');
    ({ identity, location } = await currentLogin(settings, store));
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify(whoamiJson(identity, location), null, 2)}\n`);
    return 0;
  }
  process.stdout.write(whoamiText(identity, location));
  return 0;
}

function whoamiJson(
  identity: VerifiedIdentity | { sub: string; name: string; authenticated: false },
  location: StoreLocation | undefined,
): Record<string, unknown> {
  if (!('issuer' in identity))
    return { sub: identity.sub, name: identity.name, authenticated: false, source: 'os-user' };
  return {
    sub: identity.sub,
    ...(identity.email && { email: identity.email }),
    name: identity.name,
    groups: identity.groups,
    issuer: identity.issuer,
    expires_at: new Date(identity.expiresAt).toISOString(),
    authenticated: true,
    source: identity.source,
    ...(location && { stored_in: location.kind === 'keyring' ? 'keyring' : location.file }),
    ...(Object.keys(identity.claims).length > 0 && { claims: identity.claims }),
  };
}

function whoamiText(
  identity: VerifiedIdentity | { sub: string; name: string; authenticated: false },
  location: StoreLocation | undefined,
): string {
  if (!('issuer' in identity)) {
    return `${identity.sub} (identity: os-user — not authenticated; audit records say so)\n`;
  }
  const rows: [string, string][] = [
    ['subject', identity.sub],
    ['email', identity.email ?? '—'],
    ['groups', identity.groups.length > 0 ? identity.groups.join(', ') : '—'],
    ['issuer', identity.issuer],
    ['expires', `${new Date(identity.expiresAt).toISOString()} (${expiresIn(identity.expiresAt)})`],
    ['source', sourceText(identity, location)],
  ];
  for (const [key, value] of Object.entries(identity.claims)) rows.push([key, String(value)]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${describe(identity)}\n${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}\n`;
}

function sourceText(identity: VerifiedIdentity, location: StoreLocation | undefined): string {
  switch (identity.source) {
    case 'login':
      return `jit login (${location?.kind === 'file' ? `tokens in ${location.file}` : 'tokens in the OS keyring'})`;
    case 'id-token-env':
      return 'JIT_ID_TOKEN';
    case 'github-actions':
      return 'GitHub Actions OIDC token';
    case 'client-credentials':
      return 'service account (client credentials)';
  }
}

function expiresIn(at: number): string {
  const ms = at - Date.now();
  return ms > 0 ? `in ${formatDuration(ms)}` : 'expired';
}

function describe(identity: VerifiedIdentity): string {
  return identity.email && identity.email !== identity.sub
    ? `${identity.email} (sub ${identity.sub})`
    : identity.sub;
}

function storedLine(location: StoreLocation): string {
  if (location.kind === 'keyring') return 'Tokens are stored in the OS keyring.';
  return `Tokens are stored in ${location.file} (mode 0600): ${location.why}.`;
}

/** What the person sees during the device flow, on stderr. A live countdown on a terminal. */
function terminalUi(out: NodeJS.WriteStream, browser: boolean): DeviceLoginUi {
  let timer: NodeJS.Timeout | undefined;
  const tty = out.isTTY === true;
  return {
    showCode({ uri, userCode, completeUri }) {
      out.write(
        completeUri
          ? `To log in, open this URL in a browser:\n\n  ${completeUri}\n\nor go to ${uri} and enter the code: ${userCode}\n`
          : `To log in, go to ${uri} and enter the code: ${userCode}\n`,
      );
      if (browser && openBrowser(completeUri ?? uri)) out.write('(opened in your browser)\n');
    },
    waiting({ expiresAt, done }) {
      if (done) {
        if (timer) clearInterval(timer);
        if (tty) out.write('\r\x1b[2K');
        return;
      }
      const line = () =>
        `Waiting for approval… the code expires in ${clock(expiresAt - Date.now())} (Ctrl-C cancels)`;
      if (!tty) {
        out.write(`${line()}\n`);
        return;
      }
      out.write(`\n${line()}`);
      timer = setInterval(() => out.write(`\r\x1b[2K${line()}`), 1000);
      timer.unref();
    },
  };
}

function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** The config when there is one; undefined when there is none (login works with flags alone). */
async function optionalConfig(options: IdentityCommandOptions): Promise<JitConfig | undefined> {
  try {
    return await loadConfig({ configPath: options.config, env: process.env, cwd: process.cwd() });
  } catch (err) {
    if (isJitError(err) && err.code === 'no_config') return undefined;
    throw err;
  }
}

/** Which provider: flags, else the config's `oidc`, else (logout/whoami) the last login. */
async function providerSettings(
  options: IdentityCommandOptions,
  config: JitConfig | undefined,
  store: TokenStore | undefined,
): Promise<ProviderSettings> {
  const fromConfig = config?.oidc;
  const last = store ? await store.index() : undefined;
  const issuer = options.issuer ?? fromConfig?.issuer ?? last?.issuer;
  const clientId =
    options.clientId ?? fromConfig?.clientId ?? (issuer === last?.issuer ? last?.clientId : undefined);
  if (!issuer) {
    throw new IdentityError('no_issuer', 'no identity provider configured', {
      hint: 'add `oidc: { issuer: …, client_id: … }` to jit.yaml, or pass --issuer URL --client-id ID',
    });
  }
  if (!clientId) {
    throw new IdentityError('no_client_id', `no client id for ${issuer}`, {
      hint: 'pass --client-id ID (the client registered for jit at the provider)',
    });
  }
  checkIssuerUrl(issuer);
  const ca = options.ca
    ? path.resolve(options.ca)
    : (fromConfig?.ca ?? (issuer === last?.issuer ? last?.ca : undefined));
  return { issuer, clientId, ...(ca && { ca }) };
}

function checkIssuerUrl(issuer: string): void {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new IdentityError('bad_issuer', `--issuer ${issuer} is not a URL`);
  }
  const local = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    throw new IdentityError(
      'bad_issuer',
      `--issuer must be an https:// URL (http:// only for localhost), got ${issuer}`,
    );
  }
}
