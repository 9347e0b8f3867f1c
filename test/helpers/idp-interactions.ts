import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Interaction, Provider } from 'oidc-provider';
import { errors } from 'oidc-provider';
import { Decision, consentPage, errorPage, loginPage } from './idp-pages.js';

/** A person who can sign in at the test IdP. */
export interface IdpUser {
  /** The stable subject identifier (`sub`). */
  sub: string;
  email: string;
  name: string;
  groups: string[];
  password: string;
}

/** What the login and consent pages need from the IdP. */
export interface InteractionSetup {
  provider: Provider;
  users: Record<string, IdpUser>;
  /** The OpenID scopes a consent grants (requested ones outside it are not granted). */
  scopes: string[];
}

/** Where interactions live: oidc-provider's `interactions.url` points here. */
export const INTERACTION_PATH = /^\/interaction\/([\w-]+)(?:\/(login|confirm))?$/;

const FORM_LIMIT = 16 * 1024;

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > FORM_LIMIT) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

function findUser(users: Record<string, IdpUser>, login: string): IdpUser | undefined {
  const wanted = login.trim().toLowerCase();
  return Object.entries(users).find(([key, user]) => key === wanted || user.email === wanted)?.[1];
}

/**
 * Serves `/interaction/:uid` (GET: the login page, or the consent page when the browser already
 * has a session), `/interaction/:uid/login` (POST `login`, `password`: the consent page, or the
 * login page again with an error and 401) and `/interaction/:uid/confirm` (POST `decision`:
 * finishes the interaction with the login and a grant of `scopes`, or with `access_denied`).
 * https://github.com/panva/node-oidc-provider/blob/v9.x/docs/README.md#user-flows
 */
export function interactionRoutes(
  setup: InteractionSetup,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { provider, users, scopes } = setup;
  /** Interaction uid → the account that signed in there (the login and the consent are one interaction). */
  const logins = new Map<string, string>();

  const userOf = (accountId: string | undefined): IdpUser | undefined =>
    Object.values(users).find((user) => user.sub === accountId);

  const showConsent = (res: ServerResponse, interaction: Interaction, user: IdpUser): void => {
    const client = String(interaction.params.client_id);
    const asked = String(interaction.params.scope ?? '').split(' ');
    send(
      res,
      200,
      consentPage(
        interaction.uid,
        user.email,
        client,
        asked.filter((s) => scopes.includes(s)),
      ),
    );
  };

  const approve = async (
    req: IncomingMessage,
    res: ServerResponse,
    interaction: Interaction,
    accountId: string,
  ) => {
    const clientId = String(interaction.params.client_id);
    const grant =
      (interaction.grantId && (await provider.Grant.find(interaction.grantId))) ||
      new provider.Grant({ accountId, clientId });
    grant.addOIDCScope(scopes.join(' '));
    const missing = interaction.prompt.details.missingResourceScopes as Record<string, string[]> | undefined;
    for (const [resource, resourceScopes] of Object.entries(missing ?? {})) {
      grant.addResourceScope(resource, resourceScopes.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const match = INTERACTION_PATH.exec(new URL(req.url ?? '/', 'https://idp.invalid').pathname);
    const [, uid, action] = match ?? [];
    const interaction = await provider.interactionDetails(req, res);
    if (!uid || interaction.uid !== uid) {
      send(res, 400, errorPage('invalid_request', 'interaction not found for this browser'));
      return;
    }
    const signedIn = userOf(logins.get(uid) ?? interaction.session?.accountId);

    if (req.method === 'GET' && action === undefined) {
      if (interaction.prompt.name === 'login' || !signedIn) send(res, 200, loginPage(uid));
      else showConsent(res, interaction, signedIn);
      return;
    }
    if (req.method === 'POST' && action === 'login') {
      const form = await readForm(req);
      const login = form.get('login') ?? '';
      const user = findUser(users, login);
      if (!user || form.get('password') !== user.password) {
        send(res, 401, loginPage(uid, { login, error: 'wrong user name or password' }));
        return;
      }
      logins.set(uid, user.sub);
      showConsent(res, interaction, user);
      return;
    }
    if (req.method === 'POST' && action === 'confirm') {
      const decision = (await readForm(req)).get('decision');
      if (!signedIn) {
        send(res, 400, errorPage('invalid_request', 'consent before login'));
      } else if (decision === Decision.Approve) {
        logins.delete(uid);
        await approve(req, res, interaction, signedIn.sub);
      } else if (decision === Decision.Deny) {
        logins.delete(uid);
        await provider.interactionFinished(
          req,
          res,
          { error: 'access_denied', error_description: 'the user denied the request' },
          { mergeWithLastSubmission: false },
        );
      } else {
        send(res, 400, errorPage('invalid_request', '`decision` must be approve or deny'));
      }
      return;
    }
    send(res, 405, errorPage('invalid_request', `${req.method} not allowed here`));
  };

  return async (req, res) => {
    try {
      await handle(req, res);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
      } else if (error instanceof errors.SessionNotFound) {
        send(res, 400, errorPage(error.error, error.error_description));
      } else {
        send(res, 500, errorPage('server_error', error instanceof Error ? error.message : String(error)));
      }
    }
  };
}
