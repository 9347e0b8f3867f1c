/** The signals that end jit: Ctrl-C, `kill`, and the terminal going away. */
const ENDING: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** What {@link holdSignals} returns. */
export interface HeldSignals {
  /** The first ending signal that arrived while held, if any. */
  readonly received: NodeJS.Signals | undefined;
  /**
   * The cleanup is over: from now on an ending signal makes jit exit at once, with the exit code
   * it was about to exit with (the command's), not as killed by the signal.
   */
  done(): void;
}

/**
 * Keeps SIGINT, SIGTERM and SIGHUP from killing jit while a session is up, so that it always
 * ends the same way: the role dropped, the audit log closed, the control socket removed.
 * Without this, a terminal closed just as the command exits would kill jit in the middle of its
 * cleanup and leave the role to expire on its own. `onSignal` is called for each one that arrives.
 */
export function holdSignals(onSignal: (signal: NodeJS.Signals) => void = () => {}): HeldSignals {
  let received: NodeJS.Signals | undefined;
  let handler = (signal: NodeJS.Signals) => {
    received ??= signal;
    onSignal(signal);
  };
  for (const signal of ENDING) process.on(signal, (s: NodeJS.Signals) => handler(s));
  return {
    get received() {
      return received;
    },
    done() {
      // Signals are delivered between tasks, so the caller's exit code is set by then.
      handler = () => process.exit();
    },
  };
}
