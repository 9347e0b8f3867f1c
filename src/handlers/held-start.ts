import { signalExitCode } from '../child/run.js';
import type { JitSession } from '../session/session.js';
import { type HeldSignals, holdSignals } from '../util/signals.js';

/** A session started with the ending signals held; `cancelled` when a signal stopped the start. */
export type HeldStart =
  | { session: JitSession; signals: HeldSignals; cancelled?: undefined }
  | { session?: undefined; signals: HeldSignals; cancelled: number };

/**
 * Starts a session (`start` gets the signal to pass to JitSession.start) with SIGINT, SIGTERM
 * and SIGHUP held from the first step to jit's exit. One that arrives while the grant is being
 * issued cancels the request, which leaves nothing behind (the issuer rolls back, or drops a
 * role it already committed): the result is then `cancelled` with the exit code 128+N, after a
 * line on stderr. Once the session is up, each signal goes to `onSignal`.
 */
export async function startHeld(
  start: (signal: AbortSignal) => Promise<JitSession>,
  onSignal: (session: JitSession) => void = () => {},
): Promise<HeldStart> {
  const starting = new AbortController();
  let session: JitSession | undefined;
  const signals = holdSignals(() => (session ? onSignal(session) : starting.abort()));
  try {
    session = await start(starting.signal);
  } catch (error) {
    const signal = signals.received;
    signals.done();
    if (!signal || !starting.signal.aborted) throw error;
    process.stderr.write(`jit: ${signal}: cancelled before the session started; no role was left behind\n`);
    return { signals, cancelled: signalExitCode(signal) };
  }
  // A signal during the last steps of the start, after the grant was issued: act on it now.
  if (signals.received) onSignal(session);
  return { session, signals };
}
