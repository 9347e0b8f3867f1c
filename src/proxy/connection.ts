import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { isJitError } from '../util/errors.js';
import type { ScramSecret } from './auth/scram.js';
import { ScramError, ScramServer } from './auth/scram.js';
import type { StartupExpectation } from './auth/startup-params.js';
import { StartupRefused, checkStartupParams } from './auth/startup-params.js';
import type { UpstreamConnection, UpstreamEndpoint } from './backend/upstream.js';
import { connectUpstream, sendCancel, UpstreamError } from './backend/upstream.js';
import type { ErrorFields } from './backend/writer.js';
import {
  authenticationOk,
  authenticationSasl,
  authenticationSaslContinue,
  authenticationSaslFinal,
  backendKeyData,
  errorResponse,
  negotiateProtocolVersion,
  parameterStatus,
  readyForQuery,
  REFUSE_ENCRYPTION,
} from './backend/writer.js';
import type { FrameSink } from './framer.js';
import { MessageFramer, Verdict } from './framer.js';
import { parseSaslInitialResponse, parseSaslResponse } from './frontend/sasl.js';
import { parseStartupPhase } from './frontend/startup.js';
import { terminate as terminateMessage } from './frontend/writer.js';
import { ProtocolError } from './protocol-error.js';
import type { GuardControl, StatementGuard } from './guard/statement-guard.js';
import { guardWantsUpstream } from './guard/statement-guard.js';
import type { MaskControl, ResultMasker } from './mask/result-masker.js';
import { maskerWantsUpstream } from './mask/result-masker.js';
import { CatalogError } from './mask/catalog.js';

/** What happened on a connection, for the session's log, audit and UI. */
export type ConnectionEvent =
  | { kind: 'connection_open'; connection: number; applicationName: string | undefined; upstreamPid: number }
  | { kind: 'connection_refused'; connection: number; code: string; message: string }
  | { kind: 'cancel'; connection: number; matched: boolean }
  | { kind: 'connection_close'; connection: number; reason: string }
  | { kind: 'internal_error'; connection: number; error: unknown };

/** Maps the cancel keys jit hands to clients onto the upstream backends they stand for. */
export class CancelRegistry {
  private readonly keys = new Map<string, { pid: number; secret: Buffer }>();

  /** Registers an upstream backend; returns the secret to give the client (the pid stays the upstream's). */
  add(upstreamPid: number, upstreamSecret: Buffer): Buffer {
    const clientSecret = randomBytes(4);
    this.keys.set(`${upstreamPid}:${clientSecret.toString('hex')}`, {
      pid: upstreamPid,
      secret: upstreamSecret,
    });
    return clientSecret;
  }

  remove(upstreamPid: number, clientSecret: Buffer): void {
    this.keys.delete(`${upstreamPid}:${clientSecret.toString('hex')}`);
  }

  lookup(pid: number, secret: Buffer): { pid: number; secret: Buffer } | undefined {
    return this.keys.get(`${pid}:${secret.toString('hex')}`);
  }
}

/** Everything a connection needs from its session. */
export interface ConnectionContext {
  expected: StartupExpectation;
  /** SCRAM secret of the one-time password the child was given. */
  clientSecret: ScramSecret;
  endpoint: UpstreamEndpoint;
  upstreamUser: string;
  upstreamPassword: string;
  saltedPasswordCache: Map<string, Buffer>;
  cancelKeys: CancelRegistry;
  emit: (event: ConnectionEvent) => void;
  /** Set once the session no longer admits connections (grant expired, revoked, ended). */
  refusal: () => ErrorFields | undefined;
  /** Makes the result masker of a connection; without one, results pass unmasked (masking off in the policy). */
  createMasker?: (control: MaskControl) => ResultMasker;
  /** Makes the statement guard of a connection; without one, statements pass unchecked (tests of the relay only). */
  createGuard?: (connection: number, control: GuardControl) => StatementGuard;
}

const Step = {
  Startup: 'startup',
  SaslInitial: 'sasl-initial',
  SaslFinal: 'sasl-final',
  Connecting: 'connecting',
  Relay: 'relay',
  Closed: 'closed',
} as const;
type Step = (typeof Step)[keyof typeof Step];

const READY_FOR_QUERY = 0x5a;
const TERMINATE = 0x58;
const QUERY = 0x51;
const PARSE = 0x50;
const FUNCTION_CALL = 0x46;
const ERROR_RESPONSE = 0x45;
const DATA_ROW = 0x44;
const COPY_DATA = 0x64;
/** Upstream replies the guard follows (its records, its replacement of a blocked statement's error). */
const GUARDED_REPLIES: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (const type of [0x43, 0x45, 0x5a, 0x73, 0x49]) table[type] = 1;
  return table;
})();

/**
 * One client connection: answers the startup phase and SCRAM itself, logs in upstream as
 * the grant's role, then relays messages both ways with backpressure. Owns both sockets.
 */
export class ClientConnection {
  private step: Step = Step.Startup;
  /** Client messages the guard (or Terminate handling) may answer by writing: flush before them. */
  private readonly clientFramer = new MessageFramer(() => true, {
    untyped: true,
    writesDuring: (type) => type === QUERY || type === PARSE || type === FUNCTION_CALL || type === TERMINATE,
  });
  private readonly upstreamFramer: MessageFramer;
  private readonly guard: StatementGuard | undefined;
  private readonly masker: ResultMasker | undefined;
  private upstream: net.Socket | undefined;
  private scram: ScramServer | undefined;
  private forwardedParams: Record<string, string> = {};
  private clientMinor = 0;
  private unsupportedOptions: string[] = [];
  private cancelKey: { pid: number; secret: Buffer } | undefined;
  private upstreamPaused = false;
  private clientPaused = false;
  /** Transaction status from the last ReadyForQuery: 'I', 'T' or 'E'. */
  transactionStatus = 'I';

  private readonly clientSink: FrameSink = {
    forward: (bytes) => this.writeUpstream(bytes),
    message: (type, message) => this.onClientMessage(type, message),
  };

  private readonly upstreamSink: FrameSink = {
    shrunk: 0,
    forward: (bytes) => this.writeClient(bytes),
    message: (type, message) => {
      if (type === READY_FOR_QUERY) this.transactionStatus = String.fromCharCode(message[5] as number);
      const masker = this.masker;
      if (masker && GUARDED_REPLIES[type] !== 1) {
        // Rows, descriptions, COPY data, notices, notifications: the guard has no say in them.
        const masked = masker.onUpstreamMessage(type, message);
        if (masked === Verdict.Shrunk) this.upstreamSink.shrunk = masker.shrunk;
        else if (masked === Verdict.Pause) this.upstream?.pause();
        return masked;
      }
      const verdict = this.guard ? this.guard.onUpstreamMessage(type, message) : Verdict.Forward;
      if (verdict === Verdict.Pause) {
        this.upstream?.pause();
        return verdict;
      }
      if (!masker) return verdict;
      // The guard has let it through (or replaced a blocked statement's error): now the masker
      // follows the end of the result, and masks what an error quotes when it is passed on.
      const masked = masker.onUpstreamMessage(type, message);
      return verdict === Verdict.Forward ? masked : verdict;
    },
  };

  constructor(
    readonly id: number,
    private readonly client: net.Socket,
    private readonly ctx: ConnectionContext,
  ) {
    this.guard = ctx.createGuard?.(id, {
      writeUpstream: (bytes) => this.writeUpstream(bytes),
      writeClient: (bytes) => this.writeClient(bytes),
      takeMasked: () => this.masker?.takeMasked(),
      resumeClient: () => this.resumeClientFramer(),
      resumeUpstream: () => this.resumeUpstreamFramer(),
    });
    this.masker = ctx.createMasker?.({
      resumeUpstream: () => this.resumeUpstreamFramer(),
      fail: (error) => this.fail(error),
    });
    const masker = this.masker;
    this.upstreamFramer = new MessageFramer(
      masker
        ? (type) =>
            type === DATA_ROW || type === COPY_DATA
              ? masker.wantsRows()
              : type === READY_FOR_QUERY || maskerWantsUpstream(type) || guardWantsUpstream(type)
        : this.guard
          ? (type) => type === READY_FOR_QUERY || guardWantsUpstream(type)
          : (type) => type === READY_FOR_QUERY,
      // Only an ErrorResponse can be replaced (a blocked statement's sentinel error).
      { writesDuring: (type) => type === ERROR_RESPONSE },
    );
    client.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.onClientData(chunk));
    client.on('drain', () => this.onClientDrain());
    client.on('error', () => this.close('client socket error'));
    client.on('close', () => this.close('client disconnected'));
  }

  /** Ends the connection with a FATAL the client can read, when the stream allows one. */
  terminate(fields: ErrorFields): void {
    if (this.step === Step.Closed) return;
    // Mid-message (a DataRow half sent) a FATAL would corrupt the stream: just cut it then.
    if (this.step !== Step.Relay || this.upstreamFramer.atBoundary) this.client.end(errorResponse(fields));
    else this.client.destroy();
    this.close(fields.message);
  }

  private onClientData(chunk: Buffer): void {
    const upstream = this.upstream;
    if (upstream) upstream.cork();
    try {
      this.clientFramer.push(chunk, this.clientSink);
    } catch (error) {
      this.fail(error);
    } finally {
      if (upstream) upstream.uncork();
    }
  }

  private onClientMessage(type: number, message: Buffer): Verdict {
    switch (this.step) {
      case Step.Startup:
        this.onStartupMessage(message);
        return Verdict.Consumed;
      case Step.SaslInitial:
        this.onSaslInitial(message);
        return Verdict.Consumed;
      case Step.SaslFinal:
        this.onSaslFinal(message);
        return Verdict.Consumed;
      case Step.Relay:
        if (type === TERMINATE) {
          this.writeUpstream(message);
          this.upstream?.end();
          this.close('client sent Terminate');
          return Verdict.Consumed;
        }
        {
          const verdict = this.guard ? this.guard.onClientMessage(type, message) : Verdict.Forward;
          if (verdict === Verdict.Pause) this.client.pause();
          else this.masker?.onClientMessage(type, message, verdict !== Verdict.Forward);
          return verdict;
        }
      case Step.Connecting:
      case Step.Closed:
        if (this.step === Step.Closed) return Verdict.Consumed;
        throw new ProtocolError('unexpected_message', 'unexpected message before authentication completed');
      default:
        throw new Error(`unexpected connection step ${String(this.step satisfies never)}`);
    }
  }

  private onStartupMessage(message: Buffer): void {
    const decoded = parseStartupPhase(message);
    switch (decoded.kind) {
      case 'ssl':
      case 'gssenc':
        this.client.write(REFUSE_ENCRYPTION);
        return;
      case 'cancel':
        this.onCancel(decoded.pid, decoded.secret);
        return;
      case 'startup': {
        const refusal = this.ctx.refusal();
        if (refusal) return this.refuse('session_closed', refusal);
        this.forwardedParams = checkStartupParams(decoded.params, this.ctx.expected);
        this.clientMinor = decoded.minor;
        this.unsupportedOptions = [...decoded.params.keys()].filter((k) => k.startsWith('_pq_.'));
        this.clientFramer.untyped = false;
        if (this.clientMinor > 0 || this.unsupportedOptions.length > 0) {
          this.client.write(negotiateProtocolVersion(0, this.unsupportedOptions));
        }
        this.scram = new ScramServer(this.ctx.clientSecret);
        this.client.write(authenticationSasl(['SCRAM-SHA-256']));
        this.step = Step.SaslInitial;
        return;
      }
      default:
        throw new Error(`unexpected startup message ${String(decoded satisfies never)}`);
    }
  }

  private onSaslInitial(message: Buffer): void {
    const { mechanism, data } = parseSaslInitialResponse(message);
    const serverFirst = (this.scram as ScramServer).start(mechanism, data);
    this.client.write(authenticationSaslContinue(serverFirst));
    this.step = Step.SaslFinal;
  }

  private onSaslFinal(message: Buffer): void {
    const serverFinal = (this.scram as ScramServer).finish(parseSaslResponse(message));
    this.step = Step.Connecting;
    this.pauseClient(true);
    void this.openUpstream(serverFinal);
  }

  private async openUpstream(serverFinal: Buffer): Promise<void> {
    let upstream: UpstreamConnection;
    try {
      upstream = await connectUpstream(this.ctx.endpoint, {
        user: this.ctx.upstreamUser,
        password: this.ctx.upstreamPassword,
        database: this.ctx.expected.database,
        params: this.forwardedParams,
        saltedPasswordCache: this.ctx.saltedPasswordCache,
      });
    } catch (error) {
      if (this.step === Step.Closed) return;
      const fields = upstreamFailure(error);
      this.refuse(error instanceof UpstreamError ? error.code : 'upstream_error', fields);
      return;
    }
    if (this.step === Step.Closed) {
      upstream.socket.destroy();
      return;
    }
    const refusal = this.ctx.refusal();
    if (refusal) {
      upstream.socket.destroy();
      this.refuse('session_closed', refusal);
      return;
    }
    this.upstream = upstream.socket;
    const clientSecret = this.ctx.cancelKeys.add(upstream.pid, upstream.secret);
    this.cancelKey = { pid: upstream.pid, secret: clientSecret };

    const hello: Buffer[] = [authenticationSaslFinal(serverFinal), authenticationOk()];
    for (const [name, value] of upstream.parameters) hello.push(parameterStatus(name, value));
    hello.push(backendKeyData(upstream.pid, clientSecret.readInt32BE(0)), readyForQuery('I'));
    this.client.write(Buffer.concat(hello));

    const socket = upstream.socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onUpstreamData(chunk));
    socket.on('drain', () => this.onUpstreamDrain());
    socket.on('error', () => this.closeFromUpstream('upstream socket error'));
    socket.on('close', () => this.closeFromUpstream('upstream closed the connection'));
    this.step = Step.Relay;
    this.ctx.emit({
      kind: 'connection_open',
      connection: this.id,
      applicationName: this.forwardedParams.application_name,
      upstreamPid: upstream.pid,
    });
    for (const chunk of upstream.pending) this.onUpstreamData(chunk);
    socket.resume();
    this.pauseClient(false);
  }

  /** A held statement was decided: let the client stream continue from it. */
  private resumeClientFramer(): void {
    if (this.step !== Step.Relay) return;
    const upstream = this.upstream;
    upstream?.cork();
    try {
      this.clientFramer.resume(this.clientSink);
    } catch (error) {
      this.fail(error);
    } finally {
      upstream?.uncork();
    }
    if (!this.clientFramer.isPaused && !this.clientPaused) this.client.resume();
  }

  /** Audit records are on disk: let the upstream stream continue. */
  private resumeUpstreamFramer(): void {
    if (this.step !== Step.Relay) return;
    this.client.cork();
    try {
      this.upstreamFramer.resume(this.upstreamSink);
    } catch (error) {
      this.fail(error);
    } finally {
      this.client.uncork();
    }
    if (!this.upstreamFramer.isPaused && !this.upstreamPaused) this.upstream?.resume();
  }

  private onUpstreamData(chunk: Buffer): void {
    this.client.cork();
    try {
      this.upstreamFramer.push(chunk, this.upstreamSink);
    } catch (error) {
      this.fail(error);
    } finally {
      this.client.uncork();
    }
  }

  private writeUpstream(bytes: Buffer): void {
    const upstream = this.upstream;
    if (!upstream || this.step === Step.Closed) return;
    if (!upstream.write(bytes) && !this.clientPaused) this.pauseClient(true);
  }

  private writeClient(bytes: Buffer): void {
    if (this.step === Step.Closed) return;
    if (!this.client.write(bytes) && !this.upstreamPaused) {
      this.upstreamPaused = true;
      this.upstream?.pause();
    }
  }

  /** The client drained: the upstream may send again. */
  private onClientDrain(): void {
    if (!this.upstreamPaused) return;
    this.upstreamPaused = false;
    if (!this.upstreamFramer.isPaused) this.upstream?.resume();
  }

  /** The upstream drained: read from the client again (unless waiting for login). */
  private onUpstreamDrain(): void {
    if (this.clientPaused && this.step === Step.Relay) this.pauseClient(false);
  }

  private pauseClient(pause: boolean): void {
    this.clientPaused = pause;
    if (pause) this.client.pause();
    else if (!this.clientFramer.isPaused) this.client.resume();
  }

  private onCancel(pid: number, secret: Buffer): void {
    const target = this.ctx.cancelKeys.lookup(pid, secret);
    this.ctx.emit({ kind: 'cancel', connection: this.id, matched: target !== undefined });
    if (target) void sendCancel(this.ctx.endpoint, target.pid, target.secret).catch(() => {});
    this.client.end();
    this.close('cancel request');
  }

  private refuse(code: string, fields: ErrorFields): void {
    this.ctx.emit({ kind: 'connection_refused', connection: this.id, code, message: fields.message });
    this.client.end(errorResponse(fields));
    this.close(fields.message);
  }

  private fail(error: unknown): void {
    if (this.step === Step.Closed) return;
    if (error instanceof StartupRefused) {
      const fields: ErrorFields = { severity: 'FATAL', code: error.sqlstate, message: error.message };
      if (error.hint) fields.hint = error.hint;
      return this.refuse(error.code, fields);
    }
    if (error instanceof ScramError) {
      return this.refuse(error.code, {
        severity: 'FATAL',
        code: '28P01',
        message: `password authentication failed for user "${this.ctx.expected.user}"`,
      });
    }
    if (error instanceof ProtocolError) {
      return this.refuse(error.code, {
        severity: 'FATAL',
        code: '08P01',
        message: `invalid message: ${error.message}`,
      });
    }
    if (error instanceof CatalogError) {
      // Masking cannot tell what is sensitive: end the connection rather than send a result unmasked.
      this.ctx.emit({ kind: 'internal_error', connection: this.id, error });
      return this.terminate({
        severity: 'FATAL',
        code: '58000',
        message: `jit: ${error.message}; the connection was closed rather than send data unmasked`,
        hint: "the masking catalog lookups use one of the grant role's connections: raise the target's connection_limit, or check that the role can log in",
      });
    }
    // Anything else is our bug: log it, never show its text to the client.
    this.ctx.emit({ kind: 'internal_error', connection: this.id, error });
    this.terminate({
      severity: 'FATAL',
      code: 'XX000',
      message: 'jit: internal proxy error; the connection was closed',
    });
  }

  private closeFromUpstream(reason: string): void {
    if (this.step === Step.Closed) return;
    // Let whatever the upstream said last (e.g. FATAL 57P01) reach the client first.
    this.client.end();
    this.close(reason);
  }

  private close(reason: string): void {
    if (this.step === Step.Closed) return;
    this.step = Step.Closed;
    this.guard?.close();
    if (this.cancelKey) this.ctx.cancelKeys.remove(this.cancelKey.pid, this.cancelKey.secret);
    const upstream = this.upstream;
    if (upstream && !upstream.destroyed) {
      upstream.end(terminateMessage());
      setTimeout(() => upstream.destroy(), 1000).unref();
    }
    if (!this.client.destroyed) setTimeout(() => this.client.destroy(), 1000).unref();
    this.ctx.emit({ kind: 'connection_close', connection: this.id, reason });
  }
}

/** The FATAL a client sees when jit cannot log in upstream: the server's own words when it gave some. */
function upstreamFailure(error: unknown): ErrorFields {
  if (error instanceof UpstreamError && error.fields?.C) {
    return {
      severity: 'FATAL',
      code: error.fields.C,
      message: error.fields.M ?? 'upstream refused the connection',
    };
  }
  const message = isJitError(error) ? error.message : 'cannot reach the upstream database';
  return { severity: 'FATAL', code: '08006', message: `jit: ${message}` };
}
