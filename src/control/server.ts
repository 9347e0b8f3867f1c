import { chmod, rm } from 'node:fs/promises';
import net from 'node:net';
import type { AttendedApprover } from '../live/approver.js';
import type { HeldOutcome } from '../live/events.js';
import type { LiveHub } from '../live/hub.js';
import { parseLine, readLines } from './lines.js';
import { newNonce, PairingKeys, SealedChannel, sameMac } from './pairing.js';
import { ensureRuntimeDir, socketPath } from './paths.js';

/** After this many wrong pairing attempts the session stops accepting any (the agent may be guessing). */
const MAX_FAILED_PAIRINGS = 5;
/** An unpaired connection must finish the handshake within this time. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
const OUTCOMES: readonly HeldOutcome[] = ['approve_once', 'approve_fingerprint', 'deny'];

/** What the control server needs from its session. */
export interface ControlServerOptions {
  dir: string;
  session: string;
  target: string;
  code: string;
  hub: LiveHub;
  approver: AttendedApprover;
  /** Called on each wrong pairing attempt (jit's terminal warns), with whether pairing is now locked. */
  onPairingFailure?: (failures: number, locked: boolean) => void;
  /** Called when a `jit watch` pairs. */
  onPaired?: (who: string) => void;
}

/**
 * The session's local control socket (`<runtime dir>/<session>.sock`, 0600 in a 0700 directory)
 * for `jit watch`. Nothing is shown and nothing can be decided before pairing: both sides prove
 * knowledge of the pairing code (shown only on jit's terminal) with HMACs over fresh nonces, and
 * every later line is MAC'd with keys derived from it, so a process that relays or impersonates
 * the socket — the agent runs as the same user — cannot read the code, forge a decision or
 * replay one.
 */
export class ControlServer {
  readonly path: string;
  private readonly server: net.Server;
  private readonly keys: PairingKeys;
  private failures = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly options: ControlServerOptions) {
    this.path = socketPath(options.dir, options.session);
    this.keys = new PairingKeys(options.code, options.session);
    this.server = net.createServer((socket) => this.accept(socket));
  }

  static async start(options: ControlServerOptions): Promise<ControlServer> {
    await ensureRuntimeDir(options.dir);
    const server = new ControlServer(options);
    await rm(server.path, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.server.listen(server.path, () => resolve());
    });
    await chmod(server.path, 0o600);
    return server;
  }

  get locked(): boolean {
    return this.failures >= MAX_FAILED_PAIRINGS;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.path, { force: true });
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const timer = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
    timer.unref();
    socket.on('close', () => clearTimeout(timer));
    const send = (message: Record<string, unknown>) => socket.write(`${JSON.stringify(message)}\n`);
    const refuse = (message: string) => {
      send({ type: 'refused', message });
      socket.end();
    };
    let state: 'hello' | 'auth' | 'paired' = 'hello';
    let clientNonce = '';
    let serverNonce = '';
    let channel: SealedChannel | undefined;
    let onPairedLine: ((message: Record<string, unknown>) => void) | undefined;
    readLines(socket, (line) => {
      if (state === 'paired') {
        const message = channel?.open(line);
        if (!message) {
          socket.destroy();
          return;
        }
        onPairedLine?.(message);
        return;
      }
      const message = parseLine(line);
      if (state === 'hello') {
        if (message?.type !== 'hello' || typeof message.nonce !== 'string' || message.nonce.length < 32) {
          refuse('expected hello');
          return;
        }
        if (this.locked) {
          refuse('pairing is locked after too many wrong codes; start a new session');
          return;
        }
        clientNonce = message.nonce;
        serverNonce = newNonce();
        send({
          type: 'challenge',
          version: 1,
          session: this.options.session,
          target: this.options.target,
          pid: process.pid,
          nonce: serverNonce,
          proof: this.keys.proof('server', clientNonce, serverNonce),
        });
        state = 'auth';
        return;
      }
      // state === 'auth'
      const proof = typeof message?.proof === 'string' ? message.proof : '';
      if (message?.type !== 'auth' || !sameMac(proof, this.keys.proof('client', clientNonce, serverNonce))) {
        this.failures++;
        const locked = this.locked;
        this.options.hub.publish({
          type: 'notice',
          at: Date.now(),
          level: 'warn',
          message: `a pairing attempt with a wrong code was refused (${this.failures}/${MAX_FAILED_PAIRINGS})`,
        });
        this.options.onPairingFailure?.(this.failures, locked);
        refuse('wrong pairing code');
        return;
      }
      clearTimeout(timer);
      state = 'paired';
      const who = typeof message.who === 'string' ? message.who.slice(0, 100) : 'jit watch';
      const keys = this.keys.messageKeys(clientNonce, serverNonce);
      channel = new SealedChannel(keys.toClient, keys.toServer);
      onPairedLine = this.paired(socket, channel, who);
    });
  }

  /** A paired watcher: snapshot, then batches; its decisions go to the approver. */
  private paired(
    socket: net.Socket,
    channel: SealedChannel,
    who: string,
  ): (message: Record<string, unknown>) => void {
    const { hub, approver } = this.options;
    const detach = approver.attachDecider();
    socket.write(channel.seal({ type: 'events', events: hub.snapshot() }));
    const unsubscribe = hub.subscribe((events) => {
      if (!socket.destroyed) socket.write(channel.seal({ type: 'events', events }));
    });
    socket.on('close', () => {
      unsubscribe();
      detach();
    });
    this.options.onPaired?.(who);
    hub.publish({ type: 'notice', at: Date.now(), level: 'info', message: `${who} paired` });
    return (message) => {
      if (message.type !== 'decide') return;
      const id = typeof message.id === 'string' ? message.id : '';
      const outcome = OUTCOMES.find((o) => o === message.outcome);
      if (!outcome) return;
      const reason = typeof message.reason === 'string' ? message.reason.slice(0, 500) : undefined;
      const ok = approver.decide({ id, outcome, ...(reason !== undefined && { reason }) }, who);
      socket.write(channel.seal({ type: 'decided', id, ok }));
    };
  }
}
