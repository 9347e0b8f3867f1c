import net from 'node:net';
import type { Decision, LiveSource, SessionEvent } from '../live/events.js';
import { parseLine, readLines } from './lines.js';
import { newNonce, PairingKeys, SealedChannel, sameMac } from './pairing.js';
import { ControlError } from './paths.js';

/** What a session's socket says about itself before pairing (nothing secret). */
export interface SessionHello {
  session: string;
  target: string;
  pid: number;
}

/** A paired connection to a running session. */
export interface ControlConnection extends LiveSource {
  hello: SessionHello;
  /** Resolves when the session closes the connection (it ended) or `close()` was called. */
  closed: Promise<void>;
  close(): void;
}

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Connects to a session's control socket and pairs with `code`. The socket must prove it knows the
 * code before anything is sent that depends on it, so a planted socket is detected, not trusted.
 */
export async function connectControl(path: string, code: string, who: string): Promise<ControlConnection> {
  const socket = net.connect(path);
  const clientNonce = newNonce();
  const events: SessionEvent[] = [];
  const listeners = new Set<(events: SessionEvent[]) => void>();
  let channel: SealedChannel | undefined;
  let hello: SessionHello | undefined;
  let keys: PairingKeys | undefined;
  let settle: { resolve: () => void; reject: (error: Error) => void } | undefined;
  const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  const fail = (error: ControlError) => {
    settle?.reject(error);
    socket.destroy();
  };
  const timer = setTimeout(
    () => fail(new ControlError('control_timeout', `the session at ${path} did not answer`)),
    CONNECT_TIMEOUT_MS,
  );
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', (error: NodeJS.ErrnoException) =>
    fail(
      new ControlError('control_unreachable', `cannot connect to ${path} (${error.code ?? error.message})`, {
        hint: 'the session may have ended; `jit watch` lists the running ones',
      }),
    ),
  );
  socket.on('connect', () =>
    socket.write(`${JSON.stringify({ type: 'hello', version: 1, nonce: clientNonce })}\n`),
  );
  readLines(socket, (line) => {
    if (channel) {
      const message = channel.open(line);
      if (!message) {
        fail(new ControlError('control_tampered', 'a message from the session failed its integrity check'));
        return;
      }
      if (message.type === 'events' && Array.isArray(message.events)) {
        const batch = message.events as SessionEvent[];
        events.push(...batch);
        if (events.length > 2000) events.splice(0, events.length - 2000);
        if (!settle) for (const listener of listeners) listener(batch);
        settle?.resolve();
        settle = undefined;
      }
      return;
    }
    const message = parseLine(line);
    if (message?.type === 'refused') {
      fail(
        new ControlError('pairing_refused', `the session refused to pair: ${String(message.message)}`, {
          hint: 'use the pairing code `jit run`/`jit proxy` printed on its own terminal',
        }),
      );
      return;
    }
    if (
      message?.type !== 'challenge' ||
      typeof message.nonce !== 'string' ||
      typeof message.session !== 'string'
    ) {
      fail(new ControlError('control_protocol', `${path} is not a jit control socket`));
      return;
    }
    hello = { session: message.session, target: String(message.target ?? ''), pid: Number(message.pid ?? 0) };
    keys = new PairingKeys(code, message.session);
    const serverProof = typeof message.proof === 'string' ? message.proof : '';
    if (!sameMac(serverProof, keys.proof('server', clientNonce, message.nonce))) {
      fail(
        new ControlError(
          'pairing_mismatch',
          `the session ${message.session} does not know this pairing code (a mistyped code, or not jit's socket)`,
          { hint: 'check the code printed by `jit run`; nothing was sent' },
        ),
      );
      return;
    }
    socket.write(
      `${JSON.stringify({ type: 'auth', proof: keys.proof('client', clientNonce, message.nonce), who })}\n`,
    );
    const messageKeys = keys.messageKeys(clientNonce, message.nonce);
    channel = new SealedChannel(messageKeys.toServer, messageKeys.toClient);
  });
  try {
    await ready;
  } finally {
    clearTimeout(timer);
  }
  const sealed = channel as SealedChannel | undefined;
  if (!sealed || !hello) throw new ControlError('control_protocol', 'pairing did not complete');
  return {
    hello,
    closed,
    canDecide: true,
    close: () => socket.end(),
    snapshot: () => [...events],
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    decide(decision: Decision) {
      if (socket.destroyed) return false;
      socket.write(sealed.seal({ type: 'decide', ...decision }));
      return true;
    },
  };
}
