import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { API } from './api.js';
import type { BrokerConfig } from './config-types.js';
import { ApiError, BrokerStartError } from './errors.js';
import type { Caller } from './grant-policy.js';
import { jsonLogger, type Logger } from './log.js';
import { currentVersion, migrate, SCHEMA_VERSION } from './migrations.js';
import { Notifier } from './notifier.js';
import { Reaper } from './reaper.js';
import { BrokerService, targetIssuers, type TargetIssuer } from './service.js';
import { TokenVerifier } from './verify.js';

/** Request bodies larger than this are refused (413); an audit upload of 2,000 records fits. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** How long shutdown lets in-flight requests (long-polls) finish before closing them. */
const SHUTDOWN_GRACE_MS = 2000;

/** A running broker replica. */
export interface RunningBroker {
  /** `https://host:port` (or http:// behind a proxy / on loopback). */
  url: string;
  replica: string;
  reaper: Reaper;
  close(): Promise<void>;
}

/** What `startBroker` may be given instead of the real world (tests inject faults). */
export interface BrokerStartOptions {
  env?: NodeJS.ProcessEnv;
  stdout?: NodeJS.WritableStream;
  issuerFor?: (target: BrokerConfig['targets'][string]) => TargetIssuer;
}

type Handler = (ctx: {
  caller: Caller;
  params: URLSearchParams;
  id: string;
  body: unknown;
}) => Promise<{ status?: number; body: unknown }>;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

/**
 * Starts one broker replica: checks the environment, migrates the state database (replicas take
 * turns), listens for changes from other replicas, starts the reaper and serves the API
 * (src/broker/api.ts). Fails closed with one clear error when anything it needs is missing.
 */
export async function startBroker(
  config: BrokerConfig,
  options: BrokerStartOptions = {},
): Promise<RunningBroker> {
  const env = options.env ?? process.env;
  const replica = randomBytes(4).toString('hex');
  const log = jsonLogger(options.stdout ?? process.stdout, { replica });
  const stateUrl = env[config.state.urlEnv];
  if (!stateUrl) {
    throw new BrokerStartError(
      'no_state_url',
      `$${config.state.urlEnv} is not set: the broker needs its state database`,
      {
        hint: `export ${config.state.urlEnv}=postgres://jit_broker:…@state-db:5432/jit_broker (state.url_env in ${config.path})`,
      },
    );
  }
  for (const target of Object.values(config.targets)) {
    if (!env[target.adminUrlEnv]) {
      throw new BrokerStartError(
        'no_admin_url',
        `$${target.adminUrlEnv} is not set (the admin DSN of target "${target.name}")`,
        {
          hint: `export ${target.adminUrlEnv} with a role that has CREATEROLE on ${target.upstream.host}:${target.upstream.port}/${target.upstream.database}`,
        },
      );
    }
  }
  const tls = config.listen.tls ? readTls(config.listen.tls) : undefined;

  const stateConfig: pg.ClientConfig = { connectionString: stateUrl, connectionTimeoutMillis: 10_000 };
  const pool = new pg.Pool({ ...stateConfig, max: 10 });
  pool.on('error', (error) => log('warn', 'state database connection error', { error: error.message }));
  let notifier: Notifier | undefined;
  try {
    const client = await pool.connect();
    try {
      const { from, to } = await migrate(client);
      if (from !== to) log('info', 'state database migrated', { from, to });
    } finally {
      client.release();
    }
    notifier = await Notifier.start(stateConfig, log);
  } catch (error) {
    await notifier?.close();
    await pool.end().catch(() => {});
    const code = (error as { code?: unknown } | null)?.code;
    const unreachable = typeof code === 'string' && (STATE_DOWN.has(code) || code.startsWith('08'));
    throw new BrokerStartError('state_unavailable', `cannot use the state database: ${safeError(error)}`, {
      hint: unreachable
        ? `check that the state database is running and that $${config.state.urlEnv} points at it`
        : `check $${config.state.urlEnv}: its role needs to create tables in that database`,
      cause: error,
    });
  }

  const issuerFor = options.issuerFor ?? targetIssuers(env);
  const service = new BrokerService({ config, pool, notifier, log, issuerFor });
  const verifier = new TokenVerifier(config.issuers);
  const reaper = new Reaper({ config, pool, log, issuerFor, env });
  const routes = apiRoutes(service);

  const handle = (req: http.IncomingMessage, res: http.ServerResponse) =>
    void serve(req, res, { routes, verifier, pool, log });
  const server = tls ? https.createServer({ ...tls }, handle) : http.createServer(handle);
  server.requestTimeout = 60_000;
  server.headersTimeout = 15_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (error: unknown) => {
    await notifier?.close();
    await pool.end().catch(() => {});
    throw new BrokerStartError(
      'listen_failed',
      `cannot listen on ${config.listen.host}:${config.listen.port}: ${safeError(error)}`,
    );
  });
  reaper.start();
  const port = (server.address() as AddressInfo).port;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
  log('info', 'broker listening', {
    url,
    schema: SCHEMA_VERSION,
    targets: Object.keys(config.targets),
    issuers: config.issuers.map((i) => i.issuer),
  });

  let closing: Promise<void> | undefined;
  return {
    url,
    replica,
    reaper,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
        await notifier?.close(); // wakes long-polls, which answer at once
        await closed;
        clearTimeout(force);
        await reaper.stop();
        await pool.end().catch(() => {});
        log('info', 'broker stopped');
      })()),
  };
}

function apiRoutes(service: BrokerService): Route[] {
  // API paths are built with an id placeholder that survives their URL-encoding.
  const ID = 'ROUTEID';
  const route = (method: string, path: string, handler: Handler): Route => ({
    method,
    pattern: new RegExp(`^${path.replace(ID, '([A-Za-z0-9_-]{1,64})')}$`),
    handler,
  });
  return [
    route('POST', API.grants, async ({ caller, body }) => service.requestGrant(caller, body)),
    route('GET', API.grants, async ({ caller, params }) => ({
      body: await service.listGrants(caller, params),
    })),
    route('GET', API.grant(ID), async ({ caller, id, params }) => ({
      body: await service.getGrant(caller, id, params),
    })),
    route('DELETE', API.grant(ID), async ({ caller, id, body }) => ({
      body: await service.revokeGrant(caller, id, body),
    })),
    route('POST', API.issue(ID), async ({ caller, id }) => ({
      status: 201,
      body: await service.issueGrant(caller, id),
    })),
    route('POST', API.heartbeat(ID), async ({ caller, id }) => ({
      body: await service.heartbeat(caller, id),
    })),
    route('GET', API.approvals, async ({ caller, params }) => ({
      body: await service.approvals(caller, params),
    })),
    route('POST', API.approval(ID), async ({ caller, id, body }) => ({
      body: await service.decide(caller, id, body),
    })),
    route('POST', API.holds, async ({ caller, body }) => ({
      status: 201,
      body: await service.createHold(caller, body),
    })),
    route('GET', API.hold(ID), async ({ caller, id, params }) => ({
      body: await service.getHold(caller, id, params),
    })),
    route('POST', API.audit, async ({ caller, body }) => ({ body: await service.uploadAudit(caller, body) })),
    route('GET', API.audit, async ({ caller, params }) => ({
      body: await service.queryAudit(caller, params),
    })),
  ];
}

async function serve(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  ctx: { routes: Route[]; verifier: TokenVerifier; pool: pg.Pool; log: Logger },
): Promise<void> {
  const started = performance.now();
  const url = new URL(req.url ?? '/', 'http://broker');
  const method = req.method ?? 'GET';
  let status = 500;
  let caller: Caller | undefined;
  let code: string | undefined;
  try {
    if (url.pathname === API.health) {
      status = 200;
      return send(res, 200, { status: 'ok' });
    }
    if (url.pathname === API.ready) {
      const version = await ctx.pool
        .connect()
        .then(async (c) => {
          try {
            return await currentVersion(c);
          } finally {
            c.release();
          }
        })
        .catch(() => -1);
      const ready = version === SCHEMA_VERSION;
      status = ready ? 200 : 503;
      return send(
        res,
        status,
        ready ? { status: 'ready' } : { status: 'unavailable', error: 'state database not ready' },
      );
    }
    const candidates = ctx.routes.filter((r) => r.pattern.test(url.pathname));
    if (candidates.length === 0) throw new ApiError(404, 'no_such_endpoint', `no endpoint ${url.pathname}`);
    const route = candidates.find((r) => r.method === method);
    if (!route) {
      res.setHeader('allow', candidates.map((r) => r.method).join(', '));
      throw new ApiError(405, 'method_not_allowed', `${method} is not allowed on ${url.pathname}`);
    }
    caller = await ctx.verifier.verify(req.headers.authorization);
    const body = await readJson(req, method);
    const id = decodeURIComponent(route.pattern.exec(url.pathname)?.[1] ?? '');
    const result = await route.handler({ caller, params: url.searchParams, id, body });
    status = result.status ?? 200;
    send(res, status, result.body);
  } catch (error) {
    const api = toApiError(error);
    status = api.status;
    code = api.code;
    if (api.status === 401) res.setHeader('www-authenticate', `Bearer error="invalid_token"`);
    if (api.status >= 500) {
      ctx.log('error', 'request failed', {
        method,
        path: url.pathname,
        error: error instanceof Error ? error.message : String(error),
        ...(process.env.DEBUG === 'jit' && error instanceof Error && { stack: error.stack }),
      });
    }
    send(res, api.status, { error: api.code, message: api.message });
  } finally {
    if (url.pathname !== API.health && url.pathname !== API.ready) {
      ctx.log('info', 'request', {
        method,
        path: url.pathname,
        status,
        ms: Math.round(performance.now() - started),
        ...(caller && { caller: caller.email ?? caller.sub }),
        ...(code && { error: code }),
      });
    }
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

async function readJson(req: http.IncomingMessage, method: string): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      req.destroy();
      throw new ApiError(413, 'too_large', `the request body is larger than ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  if (size === 0) {
    if (method === 'POST') return {};
    return undefined;
  }
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new ApiError(415, 'bad_content_type', 'send the body as application/json');
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ApiError(400, 'bad_json', 'the request body is not valid JSON');
  }
}

const STATE_DOWN = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  '57P01',
  '57P03',
]);

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (STATE_DOWN.has(code) || code.startsWith('08'))) {
    return new ApiError(
      503,
      'state_unavailable',
      'the broker cannot reach its state database; try again shortly',
    );
  }
  if (
    error instanceof Error &&
    /timeout exceeded when trying to connect|Connection terminated/i.test(error.message)
  ) {
    return new ApiError(
      503,
      'state_unavailable',
      'the broker cannot reach its state database; try again shortly',
    );
  }
  return new ApiError(500, 'internal', 'internal error (details are in the broker’s log)');
}

function readTls(tls: { cert: string; key: string }): { cert: Buffer; key: Buffer } {
  try {
    return { cert: readFileSync(tls.cert), key: readFileSync(tls.key) };
  } catch (error) {
    throw new BrokerStartError(
      'tls_unreadable',
      `cannot read the broker's TLS certificate or key: ${safeError(error)}`,
      {
        hint: 'check listen.tls.cert and listen.tls.key in broker.yaml',
      },
    );
  }
}

function safeError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/postgres(ql)?:\/\/[^@\s]*@/gi, 'postgres://…@');
}
