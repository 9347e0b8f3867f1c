import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestIdp } from './idp.js';

/** A running stand-in for GitHub Actions' OIDC token endpoint. */
export interface ActionsTokenService {
  /** What ACTIONS_ID_TOKEN_REQUEST_URL holds: it already has a query (`?api-version=2.0`). */
  url: string;
  /** What ACTIONS_ID_TOKEN_REQUEST_TOKEN holds: the bearer token the endpoint expects. */
  token: string;
  /** The `audience` of each authorized request so far ('' when none was asked for). */
  requests(): string[];
  close(): Promise<void>;
}

/** The audience GitHub puts in a token requested without one: the URL of the repository owner. */
const DEFAULT_AUDIENCE = 'https://github.com/acme';
const DEFAULT_SUB = 'repo:acme/app:ref:refs/heads/main';

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/**
 * Serves `GET ${url}&audience=X` with `Authorization: bearer <token>` the way a GitHub Actions
 * runner does (https://docs.github.com/en/actions/reference/security/oidc): `{"value": <JWT>}`,
 * the JWT signed by the test IdP's key with iss = the IdP's issuer, aud = X, sub = `claims.sub`
 * (default repo:acme/app:ref:refs/heads/main), iat/exp 5 minutes apart, plus `claims`.
 * A missing or wrong bearer token gets 401.
 */
export async function startActionsTokenService(
  idp: TestIdp,
  claims: Record<string, unknown> = {},
): Promise<ActionsTokenService> {
  const token = randomBytes(24).toString('base64url');
  const audiences: string[] = [];

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const [scheme, credential] = (req.headers.authorization ?? '').split(' ');
    if (req.method !== 'GET' || url.pathname !== '/idtoken') {
      json(res, 404, { message: 'Not Found' });
      return;
    }
    if (scheme?.toLowerCase() !== 'bearer' || credential !== token) {
      json(res, 401, { message: 'Bad credentials' });
      return;
    }
    const audience = url.searchParams.get('audience') ?? '';
    audiences.push(audience);
    const now = Math.floor(Date.now() / 1000);
    idp
      .signToken({
        jti: randomBytes(8).toString('hex'),
        iss: idp.issuer,
        aud: audience || DEFAULT_AUDIENCE,
        sub: DEFAULT_SUB,
        iat: now,
        nbf: now,
        exp: now + 300,
        ...claims,
      })
      .then(
        (value) => json(res, 200, { value }),
        (error: unknown) => json(res, 500, { message: String(error) }),
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/idtoken?api-version=2.0`,
    token,
    requests: () => [...audiences],
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
