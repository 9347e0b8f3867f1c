import net from 'node:net';
import tls from 'node:tls';
import { JitError } from '../../util/errors.js';
import { ScramClient, tlsServerEndPoint } from '../auth/scram.js';
import { md5PasswordResponse } from '../auth/md5.js';
import { MessageFramer, Verdict } from '../framer.js';
import {
  cancelRequest,
  passwordMessage,
  saslInitialResponse,
  saslResponse,
  sslRequest,
  startupMessage,
} from '../frontend/writer.js';
import type { ErrorFieldMap } from './reader.js';
import { parseAuthRequest, parseBackendKeyData, parseErrorFields, parseParameterStatus } from './reader.js';

/** Failure to reach or log in to the upstream PostgreSQL. `fields` holds the server's error, if any. */
export class UpstreamError extends JitError {
  readonly fields: ErrorFieldMap | undefined;
  constructor(
    code: string,
    message: string,
    options: { hint?: string; cause?: unknown; fields?: ErrorFieldMap } = {},
  ) {
    super(code, message, options);
    this.fields = options.fields;
  }
}

/** TLS to the upstream, with the CA already read from disk. */
export interface UpstreamTls {
  mode: 'disable' | 'require' | 'verify-ca' | 'verify-full';
  ca?: string | Buffer;
}

/** Where the upstream is and how to reach it. */
export interface UpstreamEndpoint {
  host: string;
  port: number;
  tls: UpstreamTls;
  connectTimeoutMs?: number;
}

/** Who to log in as. */
export interface UpstreamLogin {
  user: string;
  password: string;
  database: string;
  /** Extra StartupMessage parameters (application_name, client_encoding, options…). */
  params: Record<string, string>;
  /** Reused across connections so SCRAM's PBKDF2 runs once per grant, not per connection. */
  saltedPasswordCache?: Map<string, Buffer>;
}

/** A logged-in upstream connection, stopped right after its first ReadyForQuery. */
export interface UpstreamConnection {
  socket: net.Socket;
  /** ParameterStatus values the server sent during login, in order. */
  parameters: [string, string][];
  pid: number;
  secret: Buffer;
  /** Bytes that arrived after ReadyForQuery (normally none); relay them first. */
  pending: Buffer[];
}

/** Opens a TCP (and, per `tls`, TLS) connection; resolves once the socket is ready for the startup packet. */
async function openSocket(endpoint: UpstreamEndpoint, signal?: AbortSignal): Promise<net.Socket> {
  const timeoutMs = endpoint.connectTimeoutMs ?? 10_000;
  const where = `${endpoint.host}:${endpoint.port}`;
  const raw = await new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
    const timer = setTimeout(
      () => fail(new UpstreamError('upstream_timeout', `timed out connecting to ${where}`)),
      timeoutMs,
    );
    const onAbort = () => fail(new UpstreamError('aborted', 'connection aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    function cleanup() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
    }
    function fail(error: Error) {
      cleanup();
      socket.destroy();
      reject(error);
    }
    function onError(error: NodeJS.ErrnoException) {
      fail(
        new UpstreamError(
          'upstream_unreachable',
          `cannot reach PostgreSQL at ${where} (${error.code ?? error.message})`,
          {
            cause: error,
            hint: 'check that the server is running and the target upstream host/port are right',
          },
        ),
      );
    }
    socket.once('error', onError);
    socket.once('connect', () => {
      cleanup();
      resolve(socket);
    });
  });
  if (endpoint.tls.mode === 'disable') return raw;

  // SSLRequest, then a one-byte answer: 'S' to go on with TLS, 'N' to refuse.
  const answer = await new Promise<number>((resolve, reject) => {
    raw.once('data', (chunk: Buffer) => resolve(chunk[0] as number));
    raw.once('error', reject);
    raw.once('close', () =>
      reject(new UpstreamError('upstream_closed', `${where} closed the connection during SSLRequest`)),
    );
    raw.write(sslRequest());
  });
  raw.removeAllListeners();
  if (answer !== 0x53) {
    raw.destroy();
    throw new UpstreamError(
      'upstream_no_tls',
      `PostgreSQL at ${where} does not accept TLS (tls: ${endpoint.tls.mode})`,
      {
        hint: 'enable ssl on the server or set the target to tls: disable',
      },
    );
  }
  const verify = endpoint.tls.mode === 'verify-ca' || endpoint.tls.mode === 'verify-full';
  const options: tls.ConnectionOptions = {
    socket: raw,
    rejectUnauthorized: verify,
    // The name checkServerIdentity checks; without it Node falls back to 'localhost' for an IP host.
    host: endpoint.host,
    ...(endpoint.tls.ca === undefined ? {} : { ca: endpoint.tls.ca }),
    ...(net.isIP(endpoint.host) ? {} : { servername: endpoint.host }),
    ...(endpoint.tls.mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
  };
  return new Promise<net.Socket>((resolve, reject) => {
    const secure = tls.connect(options, () => {
      secure.removeListener('error', onError);
      resolve(secure);
    });
    function onError(error: Error) {
      secure.destroy();
      reject(
        new UpstreamError('upstream_tls', `TLS to PostgreSQL at ${where} failed: ${error.message}`, {
          cause: error,
          hint: 'check the target tls mode and ca file',
        }),
      );
    }
    secure.once('error', onError);
  });
}

/** Reads whole messages from a socket, one at a time, until told to stop. */
class MessageReader {
  private readonly queue: Buffer[] = [];
  private waiting: { resolve: (m: Buffer) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private readonly framer = new MessageFramer(() => true);
  private stopAfterReady = false;
  private readonly onData = (chunk: Buffer) => {
    try {
      this.framer.push(chunk, {
        forward: () => {},
        message: (type, message) => {
          this.queue.push(Buffer.from(message));
          if (type === 0x5a && this.stopAfterReady) return Verdict.Pause;
          return Verdict.Consumed;
        },
      });
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    this.flush();
  };
  private readonly onError = (error: Error) => this.fail(error);
  private readonly onClose = () =>
    this.fail(new UpstreamError('upstream_closed', 'the server closed the connection'));

  constructor(private readonly socket: net.Socket) {
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /** After the next ReadyForQuery, keep further bytes instead of parsing them. */
  stopAtReady(): void {
    this.stopAfterReady = true;
  }

  next(): Promise<Buffer> {
    const message = this.queue.shift();
    if (message) return Promise.resolve(message);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  /** Detaches from the socket and returns the raw bytes received after the stop point. */
  detach(): Buffer[] {
    this.socket.removeListener('data', this.onData);
    this.socket.removeListener('error', this.onError);
    this.socket.removeListener('close', this.onClose);
    this.socket.pause();
    const held = this.framer.takeHeld();
    // The paused ReadyForQuery itself is the first held message: drop it (already consumed).
    const first = held[0];
    if (first && first[0] === 0x5a) held[0] = first.subarray(first.readInt32BE(1) + 1);
    return held.filter((b) => b.length > 0);
  }

  private flush(): void {
    if (!this.waiting) return;
    const message = this.queue.shift();
    if (!message) return;
    const { resolve } = this.waiting;
    this.waiting = undefined;
    resolve(message);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    if (this.waiting && this.queue.length === 0) {
      const { reject } = this.waiting;
      this.waiting = undefined;
      reject(this.failure);
    }
  }
}

function serverError(fields: ErrorFieldMap, where: string): UpstreamError {
  const code = fields.C === '28P01' || fields.C === '28000' ? 'upstream_auth_failed' : 'upstream_error';
  return new UpstreamError(
    code,
    `PostgreSQL at ${where} refused the connection: ${fields.M ?? 'unknown error'}`,
    { fields },
  );
}

/**
 * Connects and logs in to the upstream as the grant's role
 * (https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-START-UP).
 */
export async function connectUpstream(
  endpoint: UpstreamEndpoint,
  login: UpstreamLogin,
  signal?: AbortSignal,
): Promise<UpstreamConnection> {
  const where = `${endpoint.host}:${endpoint.port}`;
  const socket = await openSocket(endpoint, signal);
  const reader = new MessageReader(socket);
  try {
    socket.write(startupMessage({ user: login.user, database: login.database, ...login.params }));
    let scram: ScramClient | undefined;
    const parameters: [string, string][] = [];
    let pid = 0;
    let secret: Buffer = Buffer.alloc(4);
    for (;;) {
      const message = await reader.next();
      const type = message[0];
      if (type === 0x45 /* E */) throw serverError(parseErrorFields(message), where);
      if (type === 0x52 /* R */) {
        const auth = parseAuthRequest(message);
        switch (auth.kind) {
          case 'ok':
            reader.stopAtReady();
            break;
          case 'cleartext':
            socket.write(passwordMessage(login.password));
            break;
          case 'md5':
            socket.write(passwordMessage(md5PasswordResponse(login.user, login.password, auth.salt)));
            break;
          case 'sasl': {
            const peer = socket instanceof tls.TLSSocket ? socket.getPeerCertificate(false) : undefined;
            const channelBinding = peer?.raw ? tlsServerEndPoint(peer.raw) : undefined;
            scram = new ScramClient({
              password: login.password,
              mechanisms: auth.mechanisms,
              ...(channelBinding ? { channelBinding } : {}),
              ...(login.saltedPasswordCache ? { saltedPasswordCache: login.saltedPasswordCache } : {}),
            });
            socket.write(saslInitialResponse(scram.mechanism, scram.clientFirst()));
            break;
          }
          case 'sasl-continue':
            if (!scram)
              throw new UpstreamError('upstream_protocol', `unexpected SASL continue from ${where}`);
            socket.write(saslResponse(scram.clientFinal(auth.data)));
            break;
          case 'sasl-final':
            if (!scram) throw new UpstreamError('upstream_protocol', `unexpected SASL final from ${where}`);
            scram.verifyServerFinal(auth.data);
            break;
          default:
            throw new UpstreamError(
              'upstream_auth_unsupported',
              `PostgreSQL at ${where} asked for an authentication method jit does not support (code ${auth.code})`,
              { hint: 'use scram-sha-256, md5 or password authentication for the grant roles' },
            );
        }
        continue;
      }
      if (type === 0x53 /* S */) {
        const { name, value } = parseParameterStatus(message);
        parameters.push([name, value]);
      } else if (type === 0x4b /* K */) {
        ({ pid, secret } = parseBackendKeyData(message));
      } else if (type === 0x5a /* Z */) {
        return { socket, parameters, pid, secret, pending: reader.detach() };
      }
      // NoticeResponse and NegotiateProtocolVersion during login are informational.
    }
  } catch (error) {
    reader.detach();
    socket.destroy();
    if (error instanceof JitError) throw error;
    throw new UpstreamError(
      'upstream_error',
      `login to PostgreSQL at ${where} failed: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/** Sends a CancelRequest for an upstream backend over a fresh connection (fire and forget). */
export async function sendCancel(endpoint: UpstreamEndpoint, pid: number, secret: Buffer): Promise<void> {
  const socket = await openSocket(endpoint);
  await new Promise<void>((resolve) => {
    const message = cancelRequest(pid, 0);
    secret.copy(message, 12, 0, 4);
    socket.end(message);
    socket.once('close', () => resolve());
    socket.once('error', () => resolve());
    socket.resume();
  });
}
