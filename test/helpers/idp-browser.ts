import { readFile } from 'node:fs/promises';
import type { TestIdp } from './idp.js';
import { httpsFetch, type TestFetch } from './idp-fetch.js';
import { Decision, DeviceError, Page } from './idp-pages.js';

/** What the person at the browser does. */
export interface ActAsUserOptions {
  /** verification_uri (then `userCode` is typed in) or verification_uri_complete (the code is in it). */
  url: string;
  /** The code to type when `url` is the plain verification_uri. */
  userCode?: string;
  user: 'alice' | 'bob';
  /** Default: the user's real password. */
  password?: string;
  decision: Decision;
}

/** A page the browser landed on. */
interface Loaded {
  url: string;
  status: number;
  html: string;
}

/** An HTML form as a browser would submit it: its action and the fields it already carries. */
interface Form {
  action: string;
  fields: Record<string, string>;
  /** `name=value` of its submit buttons. */
  buttons: string[];
}

const MAX_REDIRECTS = 10;

/** Cookies by name and path (RFC 6265 §5.1.4 path matching; one host, so no domains). */
class CookieJar {
  readonly #cookies = new Map<string, { name: string; value: string; path: string }>();

  store(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const attr = (key: string): string | undefined =>
        attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
      const cookiePath = attr('path') ?? '/';
      const expires = attr('expires');
      const gone =
        value === '' ||
        attr('max-age') === '0' ||
        (expires !== undefined && Date.parse(expires) <= Date.now());
      const key = `${name}\u0000${cookiePath}`;
      if (gone) this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path: cookiePath });
    }
  }

  header(url: string): string {
    const { pathname } = new URL(url);
    return [...this.#cookies.values()]
      .filter(({ path }) => pathname === path || pathname.startsWith(path.endsWith('/') ? path : `${path}/`))
      .map(({ name, value }) => `${name}=${value}`)
      .join('; ');
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" };

function decodeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, entity: string) => ENTITIES[entity] ?? '');
}

function attributes(tag: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const [, name, value] of tag.matchAll(/([\w.:-]+)\s*=\s*"([^"]*)"/g)) {
    if (name) found[name.toLowerCase()] = decodeHtml(value ?? '');
  }
  return found;
}

/** The `data-page` of a page oidc-provider or the interaction routes rendered (see idp-pages.ts). */
function pageName(page: Loaded): string | undefined {
  return /<body[^>]*\bdata-page="([^"]+)"/.exec(page.html)?.[1];
}

function pageError(page: Loaded): string | undefined {
  return /data-error="([^"]+)"[^>]*>([^<]*)</.exec(page.html)?.slice(1).join(': ');
}

/** The forms of a page; buttons outside a form that name it with `form="id"` count as its own. */
function forms(page: Loaded): Form[] {
  return [...page.html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].map(([, open = '', inner = '']) => {
    const form = attributes(open);
    const fields: Record<string, string> = {};
    for (const [input = ''] of inner.matchAll(/<input\b[^>]*>/g)) {
      const { name, value } = attributes(input);
      if (name) fields[name] = value ?? '';
    }
    const buttonsIn = (html: string) =>
      [...html.matchAll(/<button\b[^>]*>/g)].map(([b = '']) => attributes(b));
    const outside = form.id ? buttonsIn(page.html).filter((b) => b.form === form.id) : [];
    const buttons = [...buttonsIn(inner), ...outside]
      .filter((b) => b.name)
      .map((b) => `${b.name}=${b.value ?? ''}`);
    return { action: new URL(form.action ?? page.url, page.url).href, fields, buttons };
  });
}

/** One short description of a page for error messages. */
function summary(page: Loaded): string {
  const title = /<title>([^<]*)<\/title>/.exec(page.html)?.[1];
  const error = pageError(page);
  return `${page.status} ${page.url} (${pageName(page) ?? title ?? 'no page name'}${error ? `; ${error}` : ''})`;
}

/** A browser with a cookie jar that follows redirects, like the one a person signs in with. */
class Browser {
  readonly #fetch: TestFetch;
  readonly #jar = new CookieJar();

  constructor(fetch: TestFetch) {
    this.#fetch = fetch;
  }

  get(url: string): Promise<Loaded> {
    return this.#load(url, 'GET');
  }

  submit(form: Form, extra: Record<string, string> = {}): Promise<Loaded> {
    return this.#load(form.action, 'POST', new URLSearchParams({ ...form.fields, ...extra }));
  }

  async #load(url: string, method: string, body?: URLSearchParams): Promise<Loaded> {
    let current = { url, method, body };
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const cookie = this.#jar.header(current.url);
      const res = await this.#fetch(current.url, {
        method: current.method,
        body: current.body,
        headers: cookie ? { cookie } : {},
      });
      this.#jar.store(res.headers.getSetCookie());
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        current = { url: new URL(location, current.url).href, method: 'GET', body: undefined };
        continue;
      }
      return { url: current.url, status: res.status, html: await res.text() };
    }
    throw new Error(`more than ${MAX_REDIRECTS} redirects from ${url}`);
  }
}

/**
 * Plays the person in the browser for the device flow: opens `url`, enters the code if asked,
 * confirms it, signs in as `user`, then approves or denies; resolves once the IdP shows its
 * success page (approve) or says the request was denied (deny). Throws, naming the step, when a
 * page is not the one a person would expect there.
 */
export async function actAsUser(idp: TestIdp, opts: ActAsUserOptions): Promise<void> {
  const browser = new Browser(httpsFetch(await readFile(idp.caFile, 'utf8')));
  const user = idp.users[opts.user];

  // 1. The verification page: a form for the code, or (verification_uri_complete) one that already carries it.
  const start = await browser.get(opts.url);
  const codeForm = forms(start).find((f) => 'user_code' in f.fields);
  if (!codeForm) throw new Error(`device page did not ask for a code: ${summary(start)}`);
  if (!codeForm.fields.user_code) {
    if (!opts.userCode)
      throw new Error(`device page asked for a code but no \`userCode\` was given: ${opts.url}`);
    codeForm.fields.user_code = opts.userCode;
  }

  // 2. Confirm the code.
  const confirm = await browser.submit(codeForm);
  const confirmForm = forms(confirm).find((f) => f.fields.confirm);
  if (pageName(confirm) !== Page.DeviceConfirm || !confirmForm) {
    throw new Error(`device page did not ask to confirm the code: ${summary(confirm)}`);
  }

  // 3. oidc-provider redirects to the login interaction.
  const login = await browser.submit(confirmForm);
  const loginForm = forms(login).find((f) => 'login' in f.fields && 'password' in f.fields);
  if (pageName(login) !== Page.Login || !loginForm) {
    throw new Error(`confirming the code did not lead to the login page: ${summary(login)}`);
  }

  // 4. Sign in.
  const consent = await browser.submit(loginForm, {
    login: opts.user,
    password: opts.password ?? user.password,
  });
  const consentForm = forms(consent).find((f) => f.buttons.includes(`decision=${opts.decision}`));
  if (pageName(consent) !== Page.Consent || !consentForm) {
    throw new Error(`signing in as ${opts.user} did not lead to the consent page: ${summary(consent)}`);
  }

  // 5. Approve or deny; the interaction redirects back to the device flow's result page.
  const done = await browser.submit(consentForm, { decision: opts.decision });
  const denied =
    pageName(done) === Page.DeviceInput && done.html.includes(`data-error="${DeviceError.Aborted}"`);
  if (opts.decision === Decision.Approve && pageName(done) !== Page.DeviceSuccess) {
    throw new Error(`approving did not end on the success page: ${summary(done)}`);
  }
  if (opts.decision === Decision.Deny && !denied) {
    throw new Error(`denying did not end on the "request denied" page: ${summary(done)}`);
  }
}
